// `gatehouse ports`: lists serial ports, or says plainly that the system cannot enumerate them
// (no udev) and falls back to the serial devices in /dev. Either way it exits 0.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { SerialPort } from 'serialport';
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
    // Enumeration works: one line per port the same library lists in this process, path first.
    const listed = await SerialPort.list();
    if (listed.length === 0) assert.equal(run.stdout, 'no serial ports found\n');
    else {
      const lines = run.stdout.trimEnd().split('\n');
      assert.deepEqual(lines.map((line) => line.split('  (')[0]), listed.map((p) => p.path));
      listed.forEach((p, i) => {
        if (p.vendorId && p.productId) assert.ok(lines[i].includes(`${p.vendorId}:${p.productId}`), lines[i]);
        if (p.serialNumber) assert.ok(lines[i].includes(`serial ${p.serialNumber}`), lines[i]);
      });
    }
  }
});
