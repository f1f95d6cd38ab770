// Config validation of `onvif` transports and `camera` devices on them.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { demo, expectIssue, issuesOf } from './support.js';
import { tempDir } from '../support/temp.js';

/** The demo config plus an ONVIF camera `gate-cam` on transport `cam`; config errors name it by id. */
const GATE_CAM = 'gate-cam';

function withCamera(transport: Record<string, unknown>, device: Record<string, unknown> = {}): Record<string, any> {
  const doc = demo();
  doc.transports.cam = { type: 'onvif', xaddr: 'http://10.0.0.5/onvif/device_service', user: 'gatehouse', password: 'p4ss', ...transport };
  doc.devices.push({ id: 'gate-cam', kind: 'camera', driver: 'onvif', transport: 'cam', poll_ms: 5000, options: { profile: 'mainStream' }, ...device });
  return doc;
}

test('an onvif transport takes defaults; a camera device runs on it', () => {
  const result = loadConfig({ document: withCamera({}), env: {} });
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.issues));
  assert.deepEqual(result.config.transports.cam, {
    type: 'onvif',
    xaddr: 'http://10.0.0.5/onvif/device_service',
    user: 'gatehouse',
    password: 'p4ss',
    timeout_ms: 5000,
    init_timeout_ms: 30_000,
    max_body_bytes: 1024 * 1024,
    max_image_bytes: 8 * 1024 * 1024,
    backoff: { initial_ms: 500, max_ms: 30_000 },
  });
  const camera = result.config.devices.find((d) => d.id === 'gate-cam')!;
  assert.deepEqual(camera.options, { profile: 'mainStream' });
  assert.deepEqual(camera.settings, { ptz_ms: 500, max_ptz_ms: 10_000 });
});

test('the password may come from a file (its first line)', (t) => {
  const dir = tempDir(t, 'onvif');
  const file = join(dir, 'cam.pass');
  writeFileSync(file, 'from-file\n');
  const result = loadConfig({ document: withCamera({ password: undefined, password_file: file }), env: {} });
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.issues));
  assert.equal((result.config.transports.cam as { password: string }).password, 'from-file');
  expectIssue(issuesOf(withCamera({ password: undefined, password_file: join(dir, 'missing') })), 'transports.cam.password_file', /cannot read .*ENOENT/);
  expectIssue(issuesOf(withCamera({ password_file: file })), 'transports.cam.password_file', /not both/);
});

test('every problem of an onvif transport is named', () => {
  const issues = issuesOf(
    withCamera({ xaddr: 'http://admin:pw@10.0.0.5/onvif/device_service', user: 'a<b', password: undefined, timeout_ms: 5, colour: 'red', backoff: { initial_ms: 0 } }),
  );
  expectIssue(issues, 'transports.cam.xaddr', /without credentials/);
  expectIssue(issues, 'transports.cam.user', /printable ASCII without <, >, & or :/);
  expectIssue(issues, 'transports.cam.password', /required with a user/);
  expectIssue(issues, 'transports.cam.timeout_ms', /between 100 and 60000/);
  expectIssue(issues, 'transports.cam.colour', /unknown key/);
  expectIssue(issues, 'transports.cam.backoff.initial_ms', /between/);
  expectIssue(issuesOf(withCamera({ xaddr: 'rtsp://10.0.0.5/' })), 'transports.cam.xaddr', /device service URL/);
  expectIssue(issuesOf(withCamera({ password: 'é' })), 'transports.cam.password', /printable ASCII/);
  expectIssue(issuesOf(withCamera({ type: 'onvif2' })), 'transports.cam.type', /known: modbus-tcp, modbus-rtu, serial-line, onvif/);
});

test('camera devices: kind, driver and options are checked together', () => {
  expectIssue(issuesOf(withCamera({}, { driver: 'modbus', options: { unit: 1 } })), `devices[${GATE_CAM}].transport`, /driver modbus cannot run over a onvif transport/);
  expectIssue(issuesOf(withCamera({}, { driver: 'modbus', transport: 'simulator', options: { unit: 1 } })), `devices[${GATE_CAM}].driver`, /cannot run a camera \(it lacks info, snapshot, ptz, stop, preset\)/);
  expectIssue(issuesOf(withCamera({}, { kind: 'gate' })), `devices[${GATE_CAM}].options`, /drives cameras; it has no outputs or inputs/);
  expectIssue(issuesOf(withCamera({}, { options: { profile: 3 } })), `devices[${GATE_CAM}].options.profile`, /profile token or name/);
  expectIssue(issuesOf(withCamera({}, { kind: 'doorbell' })), `devices[${GATE_CAM}].kind`, /known: gate, turnstile, camera/);
  expectIssue(issuesOf(withCamera({}, { ptz_ms: 10 })), `devices[${GATE_CAM}].ptz_ms`, /between 50 and/);
});
