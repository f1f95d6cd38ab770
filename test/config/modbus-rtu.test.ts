// Config validation of `modbus-rtu` transports (a serial bus) and the unit ids of devices on one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { demo, expectIssue, issuesOf } from './support.js';

/** The demo config with its Modbus devices moved onto a serial bus `line` (and its camera and links left out). */
function onSerialBus(bus: Record<string, unknown>): Record<string, any> {
  const doc = demo();
  doc.transports = { line: { type: 'modbus-rtu', ...bus } };
  doc.devices = doc.devices.filter((device: { driver: string }) => device.driver === 'modbus');
  delete doc.links;
  for (const device of doc.devices) device.transport = 'line';
  return doc;
}

test('a modbus-rtu bus takes line defaults and the t3.5 inter-frame gap for its baud rate', () => {
  const result = loadConfig({ document: onSerialBus({ path: '/dev/ttyUSB0' }), env: {} });
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.issues));
  assert.deepEqual(result.config.transports.line, {
    type: 'modbus-rtu',
    path: '/dev/ttyUSB0',
    baud_rate: 9600,
    data_bits: 8,
    parity: 'none',
    stop_bits: 1,
    timeout_ms: 1000,
    inter_frame_ms: 4,
    backoff: { initial_ms: 500, max_ms: 30_000 },
  });
  const fast = loadConfig({ document: onSerialBus({ path: '/dev/ttyS1', baud_rate: 115_200, parity: 'even', inter_frame_ms: 3 }), env: {} });
  assert.ok(fast.ok);
  assert.equal(fast.config.transports.line.type === 'modbus-rtu' && fast.config.transports.line.inter_frame_ms, 3, 'an explicit gap wins');
});

test('every bad modbus-rtu setting is named by its key path', () => {
  const issues = issuesOf(
    onSerialBus({ path: 'ttyUSB0', baud_rate: 'fast', data_bits: 9, parity: 'mark', stop_bits: 3, inter_frame_ms: -1, host: 'x', rs485: { rts_on_send: true }, backoff: { max_ms: 1 } }),
  );
  expectIssue(issues, 'transports.line.path', /absolute path/);
  expectIssue(issues, 'transports.line.baud_rate', /integer/);
  expectIssue(issues, 'transports.line.data_bits', /between 7 and 8/);
  expectIssue(issues, 'transports.line.parity', /one of "none", "even", "odd"/);
  expectIssue(issues, 'transports.line.stop_bits', /between 1 and 2/);
  expectIssue(issues, 'transports.line.inter_frame_ms', /between 0 and 1000/);
  expectIssue(issues, 'transports.line.host', /unknown key/);
  expectIssue(issues, 'transports.line.rs485', /not supported/);
  expectIssue(issues, 'transports.line.backoff.max_ms', /between/);
});

test('devices on a serial bus need unit ids 1..247', () => {
  const doc = onSerialBus({ path: '/dev/ttyUSB0' });
  doc.devices[0].options.unit = 0;
  doc.devices[1].options.unit = 248;
  const [first, second, third] = doc.devices.map((device: { id: string }) => device.id);
  const issues = issuesOf(doc);
  expectIssue(issues, `devices[${first}].options.unit`, /1\.\.247 on a serial bus/);
  expectIssue(issues, `devices[${second}].options.unit`, /247/);
  assert.equal(issues.filter((i) => i.path === `devices[${third}].options.unit`).length, 0, 'a valid unit is not reported');
});
