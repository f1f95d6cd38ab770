// ModbusTcpLink against a real Modbus TCP device (Debian pymodbus via test/support/modbus-device.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DeviceError, type DriverLogger } from '../../src/driver-api.js';
import { ModbusExceptionError, ModbusTcpLink } from '../../src/transport/modbus-tcp.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/wait.js';

const poll = { priority: 'poll' } as const;
const command = { priority: 'command' } as const;
const TIMEOUT_MS = 300;
const WAIT_MS = 10_000;

interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string | undefined;
}

function recordingLogger(): DriverLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (obj: object, msg?: string) => {
    entries.push({ level, msg });
    if (process.env.GATEHOUSE_TEST_DEBUG) process.stderr.write(`[link ${level}] ${msg} ${JSON.stringify(obj)}\n`);
  };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A link with short timeouts and backoff, stopped when the test ends. */
function linkTo(t: TestContext, port: number, log = recordingLogger()): ModbusTcpLink {
  const link = new ModbusTcpLink(
    'test-link',
    { host: '127.0.0.1', port, timeoutMs: TIMEOUT_MS, backoff: { initialMs: 50, maxMs: 400 } },
    log,
  );
  t.after(() => link.stop());
  return link;
}

async function device(t: TestContext, units: number[] = [1]): Promise<ModbusDevice> {
  const dev = await startModbusDevice({ units });
  t.after(() => dev.stop());
  return dev;
}

async function nextEvent(link: ModbusTcpLink, event: 'up' | 'down'): Promise<void> {
  try {
    await once(link, event, { signal: AbortSignal.timeout(WAIT_MS) });
  } catch (err) {
    throw new Error(`link emitted no '${event}' within ${WAIT_MS} ms`, { cause: err });
  }
}

async function started(link: ModbusTcpLink): Promise<void> {
  const up = nextEvent(link, 'up');
  await link.start();
  await up;
}

function hasCode(code: DeviceError['code']) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DeviceError, `expected a DeviceError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

test('reads all four tables and writes coils and registers the device stores', async (t) => {
  const dev = await device(t);
  const link = linkTo(t, dev.port);
  await started(link);
  assert.equal(link.connected, true);
  assert.equal(link.kind, 'modbus');

  await dev.set(1, 'co', 3, [true, false, true]);
  await dev.set(1, 'di', 0, [false, true]);
  await dev.set(1, 'hr', 10, [1234, 65535]);
  await dev.set(1, 'ir', 5, [7, 8, 9]);
  assert.deepEqual(await link.readCoils(1, 3, 3, poll), [true, false, true]);
  assert.deepEqual(await link.readDiscreteInputs(1, 0, 2, poll), [false, true]);
  assert.deepEqual(await link.readHoldingRegisters(1, 10, 2, poll), [1234, 65535]);
  assert.deepEqual(await link.readInputRegisters(1, 5, 3, poll), [7, 8, 9]);

  await link.writeCoil(1, 7, true, command);
  const coil = await dev.waitForWrite((w) => w.table === 'co' && w.address === 7);
  assert.deepEqual(coil, { ...coil, unit: 1, values: [true] });
  await link.writeRegister(1, 20, 4321, command);
  const register = await dev.waitForWrite((w) => w.table === 'hr' && w.address === 20);
  assert.deepEqual(register, { ...register, unit: 1, values: [4321] });
  assert.deepEqual(await dev.get(1, 'co', 7, 1), [true]);
});

test('two units share one link, each with its own data', async (t) => {
  const dev = await device(t, [1, 2]);
  const link = linkTo(t, dev.port);
  await started(link);
  await dev.set(1, 'hr', 0, [11]);
  await dev.set(2, 'hr', 0, [22]);
  const [one, two] = await Promise.all([
    link.readHoldingRegisters(1, 0, 1, poll),
    link.readHoldingRegisters(2, 0, 1, poll),
  ]);
  assert.deepEqual([one, two], [[11], [22]]);
  await link.writeCoil(2, 1, true, command);
  const write = await dev.waitForWrite((w) => w.table === 'co' && w.address === 1);
  assert.equal(write.unit, 2);
  assert.deepEqual(await dev.get(1, 'co', 1, 1), [false]);
});

test('a muted unit times out while the other unit on the link keeps answering', async (t) => {
  const dev = await device(t, [1, 2]);
  const link = linkTo(t, dev.port);
  await started(link);
  await dev.set(1, 'ir', 0, [101]);
  await dev.set(2, 'ir', 0, [202]);
  await dev.mute(2, true);

  await assert.rejects(link.readInputRegisters(2, 0, 1, poll), hasCode('timeout'));
  assert.deepEqual(await link.readInputRegisters(1, 0, 1, poll), [101]);
  // Queued behind a timing-out request, the healthy unit still gets its own answer.
  const [muted, healthy] = await Promise.allSettled([
    link.readInputRegisters(2, 0, 1, poll),
    link.readInputRegisters(1, 0, 1, poll),
  ]);
  assert.equal(muted.status, 'rejected');
  assert.deepEqual(healthy, { status: 'fulfilled', value: [101] });
  assert.equal(link.connected, true);

  await dev.mute(2, false);
  assert.deepEqual(await link.readInputRegisters(2, 0, 1, poll), [202]);
});

test('a Modbus exception response becomes device_error with its exception code', async (t) => {
  const dev = await device(t);
  const link = linkTo(t, dev.port);
  await started(link);
  // The device has 200 items per table, so address 250 does not exist: exception 2.
  await assert.rejects(link.readHoldingRegisters(1, 250, 1, poll), (err: unknown) => {
    hasCode('device_error')(err);
    assert.ok(err instanceof ModbusExceptionError);
    assert.equal(err.exceptionCode, 2);
    assert.match(err.message, /Modbus exception 2 \(illegal data address\)/);
    return true;
  });
  await assert.rejects(link.writeCoil(1, 300, true, command), hasCode('device_error'));
  assert.deepEqual(await link.readHoldingRegisters(1, 0, 1, poll), [0]);
});

test('a late reply to a timed-out request is never taken as the answer to the next one', async (t) => {
  // pymodbus cannot answer late, so this peer speaks Modbus TCP (MBAP, Modbus Messaging on TCP/IP
  // Implementation Guide V1.0b section 3.1.3) itself: it answers the first request (value 111)
  // only once the second one has arrived, then answers the second (value 222).
  const sockets = new Set<Socket>();
  let firstRequest: Buffer | null = null;
  const replyTo = (request: Buffer, value: number): Buffer => {
    const reply = Buffer.alloc(11);
    request.copy(reply, 0, 0, 4); // transaction and protocol identifiers
    reply.writeUInt16BE(5, 4); // length: unit, function, byte count, one register
    reply.writeUInt8(request.readUInt8(6), 6);
    reply.writeUInt8(3, 7);
    reply.writeUInt8(2, 8);
    reply.writeUInt16BE(value, 9);
    return reply;
  };
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('data', (frame) => {
      if (firstRequest === null) {
        firstRequest = frame;
        return;
      }
      socket.write(replyTo(firstRequest, 111));
      setTimeout(() => socket.write(replyTo(frame, 222)), 30);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');

  const link = linkTo(t, address.port);
  await started(link);
  await assert.rejects(link.readHoldingRegisters(1, 0, 1, poll), hasCode('timeout'));
  assert.deepEqual(await link.readHoldingRegisters(1, 0, 1, poll), [222]);
});

test('start() against an unreachable device returns at once; requests fail fast; the link comes up later', async (t) => {
  const port = await freePort();
  const log = recordingLogger();
  const link = linkTo(t, port, log);
  await link.start();
  assert.equal(link.connected, false);
  await assert.rejects(link.readCoils(1, 0, 1, poll), hasCode('offline'));
  await until('three reconnect attempts failed', () => log.entries.filter((e) => e.level === 'debug').length >= 3);
  assert.equal(log.entries.filter((e) => e.level === 'warn').length, 1, 'the outage is logged once, not per retry');

  const up = nextEvent(link, 'up');
  const dev = await startModbusDevice({ port });
  t.after(() => dev.stop());
  await up;
  assert.equal(link.connected, true);
  assert.deepEqual(await link.readCoils(1, 0, 1, poll), [false]);
});

test('device killed: down, requests in flight and queued fail offline, later ones fail fast', async (t) => {
  const dev = await device(t, [1, 2]);
  const log = recordingLogger();
  const link = linkTo(t, dev.port, log);
  await started(link);
  await dev.mute(2, true);
  // Unit 2 never answers, so this request is on the wire when the device dies; two more wait behind it.
  const inFlight = link.readCoils(2, 0, 1, poll);
  const queued = [link.readCoils(1, 0, 1, poll), link.writeCoil(1, 0, true, command)];
  const outcomes = Promise.allSettled([inFlight, ...queued]);
  const down = nextEvent(link, 'down');
  await dev.kill();
  await down;
  assert.equal(link.connected, false);
  for (const outcome of await outcomes) {
    assert.equal(outcome.status, 'rejected');
    hasCode('offline')(outcome.reason);
  }
  await assert.rejects(link.readHoldingRegisters(1, 0, 1, poll), hasCode('offline'));
  await assert.rejects(link.writeRegister(1, 0, 1, command), hasCode('offline'));
  assert.deepEqual(
    log.entries.filter((e) => e.level === 'warn').map((e) => e.msg),
    ['modbus link down; reconnecting with backoff'],
  );
});

test('device restarted on the same port: the link reconnects by itself and emits up', async (t) => {
  const dev = await device(t);
  const log = recordingLogger();
  const link = linkTo(t, dev.port, log);
  await started(link);
  const down = nextEvent(link, 'down');
  await dev.kill();
  await down;
  await until('two reconnect attempts failed', () => log.entries.filter((e) => e.level === 'debug').length >= 2);

  const up = nextEvent(link, 'up');
  await dev.restart();
  await up;
  assert.equal(link.connected, true);
  await dev.set(1, 'di', 4, [true]);
  assert.deepEqual(await link.readDiscreteInputs(1, 4, 1, poll), [true]);
  assert.equal(log.entries.filter((e) => e.level === 'warn').length, 1, 'one warning for the whole outage');
  assert.ok(log.entries.some((e) => e.level === 'info' && e.msg === 'modbus link up again'));

  // A second outage after recovery is reported again.
  const downAgain = nextEvent(link, 'down');
  await dev.stop();
  await downAgain;
  assert.equal(log.entries.filter((e) => e.level === 'warn').length, 2);
});

test('stop() fails waiting requests offline and later requests fail fast', async (t) => {
  const dev = await device(t, [1, 2]);
  const link = linkTo(t, dev.port);
  await started(link);
  await dev.mute(2, true);
  const inFlight = link.readCoils(2, 0, 1, poll);
  const queued = link.readCoils(1, 0, 1, poll);
  const outcomes = Promise.allSettled([inFlight, queued]);
  await link.stop();
  assert.equal(link.connected, false);
  for (const outcome of await outcomes) {
    assert.equal(outcome.status, 'rejected');
    hasCode('offline')(outcome.reason);
  }
  await assert.rejects(link.readCoils(1, 0, 1, poll), hasCode('offline'));
});

/** Runs a link in a child process; it must exit by itself once the link is stopped. */
async function runToExit(scenario: string, port: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const linkModule = pathToFileURL(fileURLToPath(new URL('../../src/transport/modbus-tcp.ts', import.meta.url))).href;
  const script = `
    import { once } from 'node:events';
    import { ModbusTcpLink } from ${JSON.stringify(linkModule)};
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    const link = new ModbusTcpLink('exit-check', { host: '127.0.0.1', port: ${port}, timeoutMs: 300,
      backoff: { initialMs: 50, maxMs: 200 } }, quiet);
    const poll = { priority: 'poll' };
    const scenario = ${JSON.stringify(scenario)};
    await link.start();
    if (scenario === 'retrying') {
      await new Promise((resolve) => setTimeout(resolve, 400));
    } else {
      if (!link.connected) await once(link, 'up');
      await link.readCoils(1, 0, 1, poll);
      if (scenario === 'in-flight') link.readCoils(2, 0, 1, poll).catch((err) => console.log('in-flight:' + err.code));
    }
    await link.stop();
    await new Promise((resolve) => setImmediate(resolve));
    const left = process.getActiveResourcesInfo().filter((r) => /Timeout|TCP|Immediate/.test(r));
    console.log('left:' + JSON.stringify(left));
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(killer);
  return { code, stdout, stderr };
}

test('after stop() nothing keeps the process alive: connected, mid-request, or while retrying', async (t) => {
  const dev = await device(t, [1, 2]);
  await dev.mute(2, true);
  const deadPort = await freePort();
  for (const [scenario, port] of [
    ['connected', dev.port],
    ['in-flight', dev.port],
    ['retrying', deadPort],
  ] as const) {
    const { code, stdout, stderr } = await runToExit(scenario, port);
    assert.equal(code, 0, `${scenario}: child did not exit cleanly by itself\nstdout: ${stdout}\nstderr: ${stderr}`);
    assert.match(stdout, /left:\[\]/, `${scenario}: timers or sockets left after stop()`);
    if (scenario === 'in-flight') assert.match(stdout, /in-flight:offline/);
  }
});

test('a stopped link can be started again, also when stopped mid-retry', async (t) => {
  const dev = await device(t);
  const link = linkTo(t, dev.port);
  await started(link);
  await link.stop();
  await started(link);
  assert.deepEqual(await link.readCoils(1, 0, 1, poll), [false]);

  const down = nextEvent(link, 'down');
  await dev.kill();
  await down;
  await link.stop();
  const up = nextEvent(link, 'up');
  await link.start();
  await dev.restart();
  await up;
  assert.deepEqual(await link.readCoils(1, 0, 1, poll), [false]);
  assert.equal(link.listenerCount('up'), 0);
});
