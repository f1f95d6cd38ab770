// The console's commissioning routes (admin only) over real HTTP, on a real gateway and Modbus
// device: read a gate's points now, pulse its output (the device sees the coil on, then off), the
// library's refusals as HTTP statuses, and a user who is not an admin refused before anything runs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../../support/cli-process.js';
import { GATE_A, siteDevice } from '../../support/site.js';
import { until } from '../../support/wait.js';
import { Browser, startConsoleGateway, USERS } from './support.js';

describe('console commissioning routes', () => {
  const device = siteDevice();

  it('an admin reads a gate now and pulses its output; refusals carry the library\'s code; each action is journalled', async (t) => {
    const gw = await startConsoleGateway(t, device);
    const admin = new Browser(gw.base);
    assert.equal((await admin.login(USERS.guard.username, USERS.guard.password)).status, 200);
    await until('gate A online', async () => (await admin.get(`/api/devices/${GATE_A.id}`)).json.availability === 'online');
    await device.set(GATE_A.unit, 'di', 0, [true]);

    const read = await admin.post(`/api/devices/${GATE_A.id}/commissioning/read`, {});
    assert.equal(read.status, 200, read.text);
    assert.equal(read.json.device, GATE_A.id);
    assert.equal(read.json.readings.door, true, read.text);

    const pulse = await admin.post(`/api/devices/${GATE_A.id}/commissioning/pulse`, { output: 'unlock', ms: 100 });
    assert.equal(pulse.status, 200, pulse.text);
    assert.equal(pulse.json.output, 'unlock');
    assert.ok(pulse.json.off_at >= pulse.json.on_at + 100, pulse.text);
    assert.deepEqual(await device.get(GATE_A.unit, 'co', 0, 1), [false], 'the output is off again');

    const unknownOutput = await admin.post(`/api/devices/${GATE_A.id}/commissioning/pulse`, { output: 'siren', ms: 100 });
    assert.equal(unknownOutput.status, 400, unknownOutput.text);
    assert.equal(unknownOutput.json.error, 'bad_request');
    const unknownDevice = await admin.post('/api/devices/nowhere/commissioning/read', {});
    assert.equal(unknownDevice.status, 404);
    assert.equal(unknownDevice.json.error, 'unknown_device');
    const badBody = await admin.post(`/api/devices/${GATE_A.id}/commissioning/pulse`, { output: 'unlock', ms: '100' });
    assert.equal(badBody.status, 400);
    assert.match(badBody.json.message, /"ms"/);

    const journal = await runCli(['journal', '--data-dir', gw.dataDir, '--type', 'commissioning', '--json']);
    assert.equal(journal.code, 0, journal.stderr);
    const rows = journal.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { username?: string; source?: string });
    assert.ok(rows.length >= 3, journal.stdout);
    assert.ok(rows.every((row) => row.username === 'guard' && row.source === 'console'), journal.stdout);
  });

  it('a user without the admin role is refused (403) and nothing is read or pulsed', async (t) => {
    const gw = await startConsoleGateway(t, device);
    const viewer = new Browser(gw.base);
    assert.equal((await viewer.login(USERS.viewer.username, USERS.viewer.password)).status, 200);
    for (const path of ['read', 'pulse']) {
      const answer = await viewer.post(`/api/devices/${GATE_A.id}/commissioning/${path}`, { output: 'unlock', ms: 100 });
      assert.equal(answer.status, 403, answer.text);
    }
    const journal = await runCli(['journal', '--data-dir', gw.dataDir, '--type', 'commissioning', '--json']);
    assert.equal(journal.stdout.trim(), '', 'nothing journalled: the library was never called');
  });
});
