// The gateway over line-protocol devices: a gate and a turnstile on two serial-line transports,
// each a socat pty pair with test/peers/line_device.ts speaking the text protocol on the far end.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { clientAs, parseJson, resultFor, sendCommand, startGatewayFrom, tempDataDir, topicOf, uniqueId, waitForAvailability, watch } from '../support/gateway.js';
import { startLineDevice, type LineDevice } from '../support/line-device.js';
import { startPtyPair, type PtyPair } from '../support/pty-pair.js';
import { configDocument } from '../support/site.js';
import { WAIT_MS } from '../support/wait.js';

const GATE = { kind: 'gate', id: 'gate-a' } as const;
const TURNSTILE = { kind: 'turnstile', id: 'lobby' } as const;

function lineTransport(path: string): Record<string, unknown> {
  return { type: 'serial-line', path, baud_rate: 9600, reply_timeout_ms: 300, max_line_length: 256, backoff: { initial_ms: 50, max_ms: 200 } };
}

function gateDevice(): Record<string, unknown> {
  return {
    id: GATE.id,
    kind: 'gate',
    driver: 'serial-line',
    transport: 'gate-line',
    poll_ms: 100,
    offline_after: 2,
    command_timeout_ms: 2000,
    on_start: 'lock',
    unlock_ms: 300,
    held_open_ms: 1000,
    relock_grace_ms: 0,
    options: {
      outputs: { unlock: { on: 'REL 1 ON {duration_ms}', off: 'REL 1 OFF', ok: '^OK$', error: '^ERR (?<reason>.*)$' } },
      poll: {
        send: 'STATUS?',
        reply: '^STATUS door=(?<door>OPEN|CLOSED) in=\\d+ out=\\d+$',
        values: { door: { OPEN: true, CLOSED: false } },
      },
    },
  };
}

function turnstileDevice(): Record<string, unknown> {
  const relay = (n: number) => ({ on: `REL ${n} ON`, off: `REL ${n} OFF`, ok: '^OK$', error: '^ERR (?<reason>.*)$' });
  return {
    id: TURNSTILE.id,
    kind: 'turnstile',
    driver: 'serial-line',
    transport: 'turnstile-line',
    poll_ms: 100,
    offline_after: 2,
    command_timeout_ms: 2000,
    on_start: 'lock',
    pulse_ms: 100,
    options: {
      outputs: { pass_in: relay(1), pass_out: relay(2), free: relay(3) },
      poll: { send: 'STATUS?', reply: '^STATUS door=\\w+ in=(?<passages_in>\\d+) out=(?<passages_out>\\d+)$' },
      events: [{ pattern: '^PASS (?<direction>IN|OUT)$', event: 'passage_reported' }],
    },
  };
}

interface LineSite {
  gatePair: PtyPair;
  gateDevice: LineDevice;
  turnstileDevice: LineDevice;
  port: number;
}

async function lineSite(t: TestContext): Promise<LineSite> {
  const gatePair = await startPtyPair();
  t.after(() => gatePair.dispose());
  const turnstilePair = await startPtyPair();
  t.after(() => turnstilePair.dispose());
  const gate = await startLineDevice(gatePair.b);
  t.after(() => gate.stop());
  const turnstile = await startLineDevice(turnstilePair.b);
  t.after(() => turnstile.stop());
  const document = await configDocument(0, tempDataDir(t));
  document.transports = { 'gate-line': lineTransport(gatePair.a), 'turnstile-line': lineTransport(turnstilePair.a) };
  document.devices = [gateDevice(), turnstileDevice()];
  const { port } = await startGatewayFrom(t, document);
  return { gatePair, gateDevice: gate, turnstileDevice: turnstile, port };
}

type Collector = Awaited<ReturnType<typeof watch>>;

/** Two polls answered after `from`: the device has recovered from any failure before it. */
async function polledTwice(device: LineDevice): Promise<void> {
  const first = await device.waitForLine('STATUS?', device.received.length);
  await device.waitForLine('STATUS?', first + 1);
  await device.waitForLine('STATUS?', first + 2);
}

async function online(t: TestContext): Promise<{ site: LineSite; results: Collector; availability: Collector; states: Collector; events: Collector; guard: Awaited<ReturnType<typeof clientAs>> }> {
  const site = await lineSite(t);
  const guard = await clientAs(t, site.port, 'guard');
  const results = await watch(guard, 'site/hq/+/+/result');
  const availability = await watch(guard, 'site/hq/+/+/availability');
  const states = await watch(guard, 'site/hq/+/+/state');
  const events = await watch(guard, 'site/hq/+/+/event');
  await waitForAvailability(availability, GATE, 'online');
  await waitForAvailability(availability, TURNSTILE, 'online');
  return { site, results, availability, states, events, guard };
}

test('unlock sends REL 1 ON with the command\'s duration filled in, then REL 1 OFF after the pulse; poll fields become state', async (t) => {
  const { site, results, states, guard } = await online(t);
  const mark = site.gateDevice.received.length;
  const id = uniqueId('unlock');
  await sendCommand(guard, GATE, 'unlock', { id, duration_ms: 400 });
  assert.equal((await resultFor(results, id)).status, 'ok');
  const on = await site.gateDevice.waitForLine('REL 1 ON 400', mark);
  await site.gateDevice.waitForLine('REL 1 OFF', on + 1);

  await site.gateDevice.tell('door OPEN');
  await states.waitFor((m) => m.topic === topicOf(GATE, 'state') && parseJson(m).door === 'open', WAIT_MS);
  await site.turnstileDevice.tell('in 3');
  await site.turnstileDevice.tell('out 2');
  await states.waitFor(
    (m) => m.topic === topicOf(TURNSTILE, 'state') && parseJson(m).passages_in === 3 && parseJson(m).passages_out === 2,
    WAIT_MS,
  );
});

test('an unsolicited PASS line becomes an event on the device event topic', async (t) => {
  const { site, events } = await online(t);
  await site.turnstileDevice.tell('send PASS IN');
  const event = await events.waitFor((m) => m.topic === topicOf(TURNSTILE, 'event') && parseJson(m).event === 'passage_reported', WAIT_MS);
  assert.equal(parseJson(event).direction, 'IN');
  // A line matching no pattern is dropped quietly: the device stays online and keeps answering.
  await site.turnstileDevice.tell('send HELLO THERE');
  const mark = site.turnstileDevice.received.length;
  await site.turnstileDevice.waitForLine('STATUS?', mark);
});

test('ERR and unexpected replies fail the command with device_error; the next command is fine', async (t) => {
  const { site, results, guard } = await online(t);
  await site.gateDevice.tell('next err');
  const refused = uniqueId('refused');
  await sendCommand(guard, GATE, 'unlock', { id: refused });
  const r1 = await resultFor(results, refused);
  assert.equal(r1.status, 'error');
  assert.equal(r1.code, 'device_error');
  assert.match(r1.message ?? '', /relay jammed/);
  await polledTwice(site.gateDevice);

  await site.gateDevice.tell('next garbage');
  const odd = uniqueId('garbage');
  await sendCommand(guard, GATE, 'unlock', { id: odd });
  const r2 = await resultFor(results, odd);
  assert.equal(r2.status, 'error');
  assert.equal(r2.code, 'device_error');
  assert.match(r2.message ?? '', /unexpected reply/);
  await polledTwice(site.gateDevice);

  const fine = uniqueId('fine');
  await sendCommand(guard, GATE, 'unlock', { id: fine });
  assert.equal((await resultFor(results, fine)).status, 'ok');
});

test('partial and over-long replies are discarded without harm', async (t) => {
  const { site, results, availability, guard } = await online(t);
  for (const kind of ['partial', 'overlong']) {
    await polledTwice(site.gateDevice);
    await site.gateDevice.tell(`next ${kind}`);
    const id = uniqueId(kind);
    await sendCommand(guard, GATE, 'unlock', { id });
    const result = await resultFor(results, id);
    assert.equal(result.status, 'error', `${kind}: ${result.message}`);
    assert.equal(result.code, 'timeout', `${kind}: ${result.message}`);
  }
  await polledTwice(site.gateDevice);
  await waitForAvailability(availability, GATE, 'online');
  const fine = uniqueId('after');
  await sendCommand(guard, GATE, 'unlock', { id: fine });
  assert.equal((await resultFor(results, fine)).status, 'ok');
});

test('a silent device times out and goes offline, and comes back when it answers', async (t) => {
  const { site, results, availability, guard } = await online(t);
  await site.gateDevice.tell('silent on');
  await waitForAvailability(availability, GATE, 'offline');
  const id = uniqueId('silent');
  await sendCommand(guard, GATE, 'unlock', { id });
  assert.equal((await resultFor(results, id)).code, 'offline');
  const from = availability.messages.length;
  await site.gateDevice.tell('silent off');
  await waitForAvailability(availability, GATE, 'online', from);
});

test('the pty goes away: offline, commands fail fast; it comes back: online', async (t) => {
  const { site, results, availability, guard } = await online(t);
  const outage = availability.messages.length;
  await site.gateDevice.stop();
  await site.gatePair.kill();
  await waitForAvailability(availability, GATE, 'offline', outage);
  const id = uniqueId('outage');
  await sendCommand(guard, GATE, 'unlock', { id });
  assert.equal((await resultFor(results, id)).code, 'offline');

  const back = availability.messages.length;
  await site.gatePair.start();
  const device = await startLineDevice(site.gatePair.b);
  t.after(() => device.stop());
  await waitForAvailability(availability, GATE, 'online', back);
  const after = uniqueId('after');
  const mark = device.received.length;
  await sendCommand(guard, GATE, 'unlock', { id: after });
  assert.equal((await resultFor(results, after)).status, 'ok');
  await device.waitForLine('REL 1 ON 300', mark);
});

test('config errors name their key paths', async (t) => {
  const document = await configDocument(0, tempDataDir(t));
  const gate = gateDevice();
  const options = gate.options as { outputs: Record<string, unknown>; poll: Record<string, unknown> };
  options.outputs.unlock = { on: 'REL 1 ON', off: 'REL 1 OFF', ok: '^OK($' };
  options.outputs.bolt = { on: 'X', off: 'Y', ok: '^OK$' };
  document.transports = { 'gate-line': { ...lineTransport('/dev/ttyNONE'), terminator: '' } };
  document.devices = [gate];
  const loaded = loadConfig({ document, env: {} });
  assert.equal(loaded.ok, false);
  const paths = loaded.ok ? [] : loaded.issues.map((i) => i.path);
  assert.ok(paths.includes(`devices[${gate.id}].options.outputs.unlock.ok`), paths.join(', '));
  assert.ok(paths.includes(`devices[${gate.id}].options.outputs.bolt`), paths.join(', '));
  assert.ok(paths.includes('transports.gate-line.terminator'), paths.join(', '));
});
