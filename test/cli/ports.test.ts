// `gatehouse ports`: lists serial ports, or says plainly that the system cannot enumerate them
// (no udev) and falls back to the serial devices in /dev. Either way it exits 0.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { runCli } from '../support/cli-process.js';

test('ports exits 0 and names every /dev/ttyS*, ttyUSB*, ttyACM* device or the enumerated ports', async () => {
  const run = await runCli(['ports']);
  assert.equal(run.code, 0, run.stderr);
  if (/cannot enumerate serial ports/.test(run.stdout)) {
    // The fallback: every serial-looking entry of /dev is listed.
    const expected = readdirSync('/dev').filter((name) => /^tty(S|USB|ACM)\d+$/.test(name));
    for (const name of expected) assert.match(run.stdout, new RegExp(`^  /dev/${name}$`, 'm'));
    if (expected.length === 0) assert.match(run.stdout, /no \/dev\/ttyS\*/);
  } else {
    assert.ok(run.stdout.trim().length > 0, 'prints the ports, or that there are none');
  }
});
