// ModbusRtuBus on a real serial line: a socat pty pair, with Debian pymodbus (RTU framer) as the
// devices on the far end, or a responder of the test's own that sends broken frames.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import { SerialPort } from 'serialport';
import { DeviceError, type DriverLogger } from '../../src/driver-api.js';
import { ModbusExceptionError } from '../../src/transport/modbus-errors.js';
import { defaultInterFrameMs, ModbusRtuBus } from '../../src/transport/modbus-rtu.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { startPtyPair, type PtyPair } from '../support/pty-pair.js';

const poll = { priority: 'poll' } as const;
const command = { priority: 'command' } as const;
const TIMEOUT_MS = 300;
const WAIT_MS = 10_000;
const BAUD = 19_200;

function quietLogger(): DriverLogger {
  const at = (level: string) => (obj: object, msg?: string) => {
    if (process.env.GATEHOUSE_TEST_DEBUG) process.stderr.write(`[bus ${level}] ${msg} ${JSON.stringify(obj)}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function ptyPair(t: TestContext): Promise<PtyPair> {
  const pair = await startPtyPair();
  t.after(() => pair.dispose());
  return pair;
}

async function rtuDevice(t: TestContext, path: string, units: number[]): Promise<ModbusDevice> {
  const dev = await startModbusDevice({ rtuPath: path, baud: BAUD, units });
  t.after(() => dev.stop());
  return dev;
}

function busOn(t: TestContext, path: string): ModbusRtuBus {
  const bus = new ModbusRtuBus(
    'test-bus',
    {
      path,
      baudRate: BAUD,
      dataBits: 8,
      parity: 'none',
      stopBits: 1,
      timeoutMs: TIMEOUT_MS,
      interFrameMs: defaultInterFrameMs(BAUD, 8, 'none', 1),
      backoff: { initialMs: 50, maxMs: 400 },
    },
    quietLogger(),
  );
  t.after(() => bus.stop());
  return bus;
}

async function nextEvent(bus: ModbusRtuBus, event: 'up' | 'down'): Promise<void> {
  try {
    await once(bus, event, { signal: AbortSignal.timeout(WAIT_MS) });
  } catch (err) {
    throw new Error(`bus emitted no '${event}' within ${WAIT_MS} ms`, { cause: err });
  }
}

async function started(bus: ModbusRtuBus): Promise<void> {
  const up = nextEvent(bus, 'up');
  await bus.start();
  await up;
}

async function rejection(promise: Promise<unknown>): Promise<DeviceError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof DeviceError, `expected a DeviceError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the request to fail');
}

test('the default inter-frame gap is 3.5 character times, 1.75 ms above 19200 baud', () => {
  assert.equal(defaultInterFrameMs(9600, 8, 'none', 1), 4); // 10 bits * 3.5 / 9600 = 3.65 ms
  assert.equal(defaultInterFrameMs(9600, 8, 'even', 1), 5); // 11 bits: 4.01 ms
  assert.equal(defaultInterFrameMs(1200, 8, 'even', 2), 35); // 12 bits: 35 ms
  assert.equal(defaultInterFrameMs(38_400, 8, 'none', 1), 2); // 1.75 ms, rounded up
});

test('two units on one bus: concurrent commands and polls each get their own answer', async (t) => {
  const pair = await ptyPair(t);
  const device = await rtuDevice(t, pair.b, [1, 2]);
  await device.set(1, 'ir', 0, [111, 112]);
  await device.set(2, 'ir', 0, [221, 222]);
  const bus = busOn(t, pair.a);
  await started(bus);

  const work: Promise<unknown>[] = [];
  const reads: { unit: number; got: Promise<number[]> }[] = [];
  for (let i = 0; i < 10; i++) {
    for (const unit of [1, 2]) {
      work.push(bus.writeCoil(unit, i, i % 2 === 0, command));
      const got = bus.readInputRegisters(unit, 0, 2, poll);
      reads.push({ unit, got });
      work.push(got);
    }
  }
  const settled = await Promise.allSettled(work);
  const failed = settled.filter((s) => s.status === 'rejected');
  // A frame that overlapped another would be dropped by the device (bad CRC) and time out here.
  assert.deepEqual(failed, [], 'every request on the shared line succeeded');
  for (const { unit, got } of reads) assert.deepEqual(await got, unit === 1 ? [111, 112] : [221, 222]);
  for (const unit of [1, 2]) {
    const coils = await device.get(unit, 'co', 0, 10);
    assert.deepEqual(coils, Array.from({ length: 10 }, (_, i) => i % 2 === 0), `coils of unit ${unit}`);
  }
  const coilWrites = device.writes.filter((w) => w.table === 'co');
  assert.equal(coilWrites.length, 20, 'the device recorded each coil write once');
});

test('a Modbus exception is device_error, notApplied', async (t) => {
  const pair = await ptyPair(t);
  await rtuDevice(t, pair.b, [1]);
  const bus = busOn(t, pair.a);
  await started(bus);
  const err = await rejection(bus.readHoldingRegisters(1, 5000, 2, poll));
  assert.ok(err instanceof ModbusExceptionError);
  assert.equal(err.code, 'device_error');
  assert.equal(err.exceptionCode, 2);
  assert.equal(err.notApplied, true);
  assert.deepEqual(await bus.readHoldingRegisters(1, 0, 2, poll), [0, 0], 'the bus works after an exception');
});

test('a muted unit times out while its neighbour keeps answering', async (t) => {
  const pair = await ptyPair(t);
  const device = await rtuDevice(t, pair.b, [1, 2]);
  const bus = busOn(t, pair.a);
  await started(bus);
  await device.set(1, 'di', 0, [true]);
  await device.mute(2, true);

  const [silent, neighbour] = await Promise.allSettled([
    bus.readDiscreteInputs(2, 0, 1, poll),
    bus.readDiscreteInputs(1, 0, 1, poll),
  ]);
  assert.equal(silent.status, 'rejected');
  assert.ok(silent.reason instanceof DeviceError);
  assert.equal(silent.reason.code, 'timeout');
  assert.equal(neighbour.status, 'fulfilled');
  assert.deepEqual(neighbour.value, [true]);
  assert.equal(bus.connected, true, 'a silent unit does not take the bus down');

  await device.mute(2, false);
  assert.deepEqual(await bus.readDiscreteInputs(2, 0, 1, poll), [false]);
});

test('the line goes away: down, requests fail offline; it comes back: up, requests work', async (t) => {
  const pair = await ptyPair(t);
  const device = await rtuDevice(t, pair.b, [1]);
  const bus = busOn(t, pair.a);
  await started(bus);
  await device.set(1, 'hr', 0, [7]);
  assert.deepEqual(await bus.readHoldingRegisters(1, 0, 1, poll), [7]);

  const down = nextEvent(bus, 'down');
  await pair.kill();
  await down;
  assert.equal(bus.connected, false);
  const err = await rejection(bus.writeCoil(1, 0, true, command));
  assert.equal(err.code, 'offline');
  assert.equal(err.notApplied, true, 'a command while the bus is down never reached the wire');

  // The adapter comes back under the same name; the device behind it starts afresh.
  await device.stop();
  const up = nextEvent(bus, 'up');
  await pair.start();
  await device.restart();
  await up;
  assert.deepEqual(await bus.readHoldingRegisters(1, 0, 1, poll), [0], 'fresh state from the restarted device');
  await bus.writeCoil(1, 3, true, command);
  await device.waitForWrite((w) => w.table === 'co' && w.address === 3 && w.values[0] === true, WAIT_MS);
});

test('a bus whose port does not exist yet is offline at once and opens when it appears', async (t) => {
  const pair = await ptyPair(t);
  await pair.kill();
  const bus = busOn(t, pair.a);
  await bus.start();
  const err = await rejection(bus.readCoils(1, 0, 1, poll));
  assert.equal(err.code, 'offline');
  const up = nextEvent(bus, 'up');
  await pair.start();
  await rtuDevice(t, pair.b, [1]);
  await up;
  assert.deepEqual(await bus.readCoils(1, 0, 1, poll), [false]);
});

/** CRC-16/MODBUS (Modbus over Serial Line V1.02 section 6.2.2), low byte first on the wire. */
function crc16(frame: Buffer): number {
  let crc = 0xffff;
  for (const byte of frame) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

function withCrc(body: number[]): Buffer {
  const frame = Buffer.alloc(body.length + 2);
  Buffer.from(body).copy(frame);
  frame.writeUInt16LE(crc16(frame.subarray(0, body.length)), body.length);
  return frame;
}

/**
 * A device of the test's own on the far end: it answers each read-holding-registers request of
 * unit 1 with the next entry of `replies` (raw bytes), and logs every request it received.
 */
async function brokenResponder(t: TestContext, path: string, replies: ((request: Buffer) => Buffer)[]): Promise<Buffer[]> {
  const port = new SerialPort({ path, baudRate: BAUD, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  t.after(() => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())));
  const requests: Buffer[] = [];
  let pending = Buffer.alloc(0);
  port.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    // A read request (function 3) is 8 bytes: unit, function, address, count, CRC.
    while (pending.length >= 8) {
      const request = pending.subarray(0, 8);
      pending = pending.subarray(8);
      requests.push(request);
      const reply = replies[requests.length - 1];
      if (reply !== undefined) port.write(reply(request));
    }
  });
  return requests;
}

test('broken replies (wrong CRC, truncated frame, noise) are errors, never a crash, and the next request works', async (t) => {
  const pair = await ptyPair(t);
  const good = withCrc([1, 3, 2, 0x12, 0x34]);
  const badCrc = Buffer.from(good);
  badCrc[badCrc.length - 1] ^= 0xff;
  const requests = await brokenResponder(t, pair.b, [
    () => badCrc,
    () => good.subarray(0, 3), // truncated: the rest never comes
    () => Buffer.concat([Buffer.from([0xde, 0xad]), good]), // noise before a good frame
    () => good,
  ]);
  const bus = busOn(t, pair.a);
  await started(bus);

  const crcError = await rejection(bus.readHoldingRegisters(1, 0, 1, poll));
  assert.equal(crcError.code, 'device_error');
  assert.match(crcError.message, /CRC/);
  const truncated = await rejection(bus.readHoldingRegisters(1, 0, 1, poll));
  assert.equal(truncated.code, 'timeout');
  assert.deepEqual(await bus.readHoldingRegisters(1, 0, 1, poll), [0x1234], 'a good frame after noise is found');
  assert.deepEqual(await bus.readHoldingRegisters(1, 0, 1, poll), [0x1234], 'the leftover of the truncated frame did not stick');
  assert.equal(requests.length, 4);
  for (const request of requests) {
    assert.equal(crc16(request.subarray(0, 6)), request.readUInt16LE(6), 'every request frame had a valid CRC');
  }
  assert.equal(bus.connected, true);
});
