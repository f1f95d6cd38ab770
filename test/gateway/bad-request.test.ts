// Malformed commands end to end (DESIGN.md sections 2 and 3): each class of bad payload gets a
// bad_request result with a message, and none reaches the hardware.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandTopic, resultFor, sendCommand, startGateway, startSession, topicOf, uniqueId, waitForCoil, writesOf } from '../support/gateway.js';
import { mosquittoPub, mosquittoSub } from '../support/mosquitto.js';
import { GATE_A, TURNSTILE, USERS, siteDevice, type DeviceRef } from '../support/site.js';

interface BadCase {
  name: string;
  target: DeviceRef;
  command: string;
  payload: string | Buffer;
  /** The id the result must carry when the payload has a readable one. */
  id?: string;
  message: RegExp;
}

const bigPadding = 'x'.repeat(9000);

const CASES: BadCase[] = [
  { name: 'invalid JSON', target: GATE_A, command: 'unlock', payload: '{"id": "broken",', message: /not valid JSON/ },
  { name: 'JSON array', target: GATE_A, command: 'unlock', payload: '[1, 2]', message: /JSON object/ },
  { name: 'JSON string', target: GATE_A, command: 'unlock', payload: '"unlock"', message: /JSON object/ },
  { name: 'JSON number', target: GATE_A, command: 'unlock', payload: '42', message: /JSON object/ },
  { name: 'JSON null', target: GATE_A, command: 'unlock', payload: 'null', message: /JSON object/ },
  { name: 'invalid UTF-8', target: GATE_A, command: 'unlock', payload: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), message: /UTF-8/ },
  { name: 'id too long', target: GATE_A, command: 'unlock', payload: JSON.stringify({ id: 'i'.repeat(65) }), message: /id must be/ },
  { name: 'id not a string', target: GATE_A, command: 'unlock', payload: JSON.stringify({ id: 42 }), message: /id must be/ },
  { name: 'id with a space', target: GATE_A, command: 'unlock', payload: JSON.stringify({ id: 'a b' }), message: /id must be/ },
  { name: 'sent_at a string', target: GATE_A, command: 'unlock', id: 'bad-sent-at-1', payload: JSON.stringify({ id: 'bad-sent-at-1', sent_at: 'yesterday' }), message: /sent_at/ },
  { name: 'sent_at negative', target: GATE_A, command: 'unlock', id: 'bad-sent-at-2', payload: JSON.stringify({ id: 'bad-sent-at-2', sent_at: -1 }), message: /sent_at/ },
  { name: 'sent_at fractional', target: GATE_A, command: 'unlock', id: 'bad-sent-at-3', payload: JSON.stringify({ id: 'bad-sent-at-3', sent_at: 1.5 }), message: /sent_at/ },
  { name: 'ttl_ms zero', target: GATE_A, command: 'unlock', id: 'bad-ttl-1', payload: JSON.stringify({ id: 'bad-ttl-1', ttl_ms: 0 }), message: /ttl_ms/ },
  { name: 'ttl_ms a string', target: GATE_A, command: 'unlock', id: 'bad-ttl-2', payload: JSON.stringify({ id: 'bad-ttl-2', ttl_ms: '5s' }), message: /ttl_ms/ },
  { name: 'unknown argument', target: GATE_A, command: 'unlock', id: 'bad-arg-1', payload: JSON.stringify({ id: 'bad-arg-1', speed: 3 }), message: /speed/ },
  { name: 'argument to lock', target: GATE_A, command: 'lock', id: 'bad-arg-2', payload: JSON.stringify({ id: 'bad-arg-2', duration_ms: 1000 }), message: /duration_ms/ },
  { name: 'duration_ms below range', target: GATE_A, command: 'unlock', id: 'bad-dur-1', payload: JSON.stringify({ id: 'bad-dur-1', duration_ms: 50 }), message: /duration_ms must be between/ },
  { name: 'duration_ms above max_unlock_ms', target: GATE_A, command: 'unlock', id: 'bad-dur-2', payload: JSON.stringify({ id: 'bad-dur-2', duration_ms: 10_000_000 }), message: /duration_ms must be between/ },
  { name: 'duration_ms not an integer', target: GATE_A, command: 'unlock', id: 'bad-dur-3', payload: JSON.stringify({ id: 'bad-dur-3', duration_ms: 1500.5 }), message: /duration_ms must be an integer/ },
  { name: 'duration_ms a string', target: GATE_A, command: 'unlock', id: 'bad-dur-4', payload: JSON.stringify({ id: 'bad-dur-4', duration_ms: '1000' }), message: /duration_ms must be an integer/ },
  { name: 'missing direction', target: TURNSTILE, command: 'pass', id: 'bad-dir-1', payload: JSON.stringify({ id: 'bad-dir-1' }), message: /direction is required/ },
  { name: 'unknown direction', target: TURNSTILE, command: 'pass', id: 'bad-dir-2', payload: JSON.stringify({ id: 'bad-dir-2', direction: 'sideways' }), message: /direction must be one of/ },
  { name: 'oversized payload', target: GATE_A, command: 'unlock', payload: JSON.stringify({ id: 'big', pad: bigPadding }), message: /bytes/ },
];

const device = siteDevice();

test('every class of bad payload gets bad_request with a message, and nothing reaches the device (MQTT.js)', async (t) => {
  const { client, results } = await startSession(t, device, `site/hq/+/+/result`);
  const mark = device.writes.length;

  for (const c of CASES) {
    const before = results.messages.length;
    await sendCommand(client, c.target, c.command, c.payload);
    const message = await results.waitFor((m) => results.messages.indexOf(m) >= before);
    const result = JSON.parse(message.payload.toString('utf8'));
    assert.equal(message.topic, topicOf(c.target, 'result'), c.name);
    assert.equal(result.status, 'error', c.name);
    assert.equal(result.code, 'bad_request', `${c.name}: ${result.message}`);
    assert.equal(result.command, c.command, c.name);
    assert.match(result.message, c.message, c.name);
    assert.equal(typeof result.id, 'string', `${c.name}: a result always has an id`);
    if (c.id !== undefined) assert.equal(result.id, c.id, `${c.name}: the readable id is kept`);
  }

  // Sentinels: a good command per device is executed, and it is the only write since the bad ones.
  const gateSentinel = uniqueId('sentinel');
  const turnstileSentinel = uniqueId('sentinel');
  await sendCommand(client, GATE_A, 'lock', { id: gateSentinel });
  await sendCommand(client, TURNSTILE, 'lock', { id: turnstileSentinel });
  assert.equal((await resultFor(results, gateSentinel)).status, 'ok');
  assert.equal((await resultFor(results, turnstileSentinel)).status, 'ok');
  await waitForCoil(device, GATE_A.unit, 0, false, mark);
  await waitForCoil(device, TURNSTILE.unit, 2, false, mark);
  assert.deepEqual(writesOf(device, GATE_A.unit, mark).map((w) => [w.address, w.values[0]]), [[0, false]]);
  assert.deepEqual(writesOf(device, TURNSTILE.unit, mark).map((w) => [w.address, w.values[0]]), [[2, false]]);
  assert.equal(results.messages.length, CASES.length + 2, 'one result per command');
});

test('bad payloads sent as raw bytes with mosquitto_pub get bad_request too', async (t) => {
  const gw = await startGateway(t, device);
  const sub = await mosquittoSub({ port: gw.port, ...USERS.guard, topics: [topicOf(GATE_A, 'result')] });
  t.after(() => sub.stop());
  const mark = device.writes.length;
  const payloads: Buffer[] = [
    Buffer.from('{not json'),
    Buffer.from([0xc3, 0x28]), // an invalid two-byte UTF-8 sequence
    Buffer.from(JSON.stringify({ id: 'raw-big', pad: bigPadding })),
  ];
  for (const [i, payload] of payloads.entries()) {
    const pub = await mosquittoPub({ port: gw.port, ...USERS.guard, topic: commandTopic(GATE_A, 'unlock'), message: payload, qos: 1 });
    assert.equal(pub.code, 0, pub.stderr);
    const message = await sub.waitFor((m) => sub.messages.indexOf(m) === i);
    const result = JSON.parse(message.text);
    assert.equal(result.code, 'bad_request', result.message);
    assert.ok(result.message.length > 0);
  }
  assert.deepEqual(writesOf(device, GATE_A.unit, mark), []);
});
