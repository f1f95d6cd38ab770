// The modbus driver over a real Modbus TCP link to Debian's pymodbus (test/support/modbus-device.ts).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import { getDriver, drivers } from '../../../drivers/index.js';
import {
  DeviceError,
  type DriverInstance,
  type ModbusAccess,
  type PointSpec,
  type RequestOptions,
} from '../../../src/driver-api.js';
import { ModbusExceptionError, ModbusTcpLink } from '../../../src/transport/modbus-tcp.js';
import { startModbusDevice, type ModbusDevice } from '../../support/modbus-device.js';

const poll: RequestOptions = { priority: 'poll' };
const command: RequestOptions = { priority: 'command' };
const WAIT_MS = 10_000;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const gatePoints: PointSpec = {
  outputs: { required: ['unlock'], optional: ['buzzer'] },
  inputs: { required: [], optional: ['door', 'count', 'mode', 'tamper'] },
};

/** Delegates to the real link and notes each request, to count what a read() costs. */
function counting(link: ModbusAccess): { access: ModbusAccess; requests: string[] } {
  const requests: string[] = [];
  const access: ModbusAccess = {
    kind: 'modbus',
    name: link.name,
    readCoils: (u, a, c, o) => (requests.push(`coils ${a}+${c}`), link.readCoils(u, a, c, o)),
    readDiscreteInputs: (u, a, c, o) => (requests.push(`discrete inputs ${a}+${c}`), link.readDiscreteInputs(u, a, c, o)),
    readHoldingRegisters: (u, a, c, o) => (requests.push(`holding registers ${a}+${c}`), link.readHoldingRegisters(u, a, c, o)),
    readInputRegisters: (u, a, c, o) => (requests.push(`input registers ${a}+${c}`), link.readInputRegisters(u, a, c, o)),
    writeCoil: (u, a, v, o) => (requests.push(`write coil ${a}`), link.writeCoil(u, a, v, o)),
    writeRegister: (u, a, v, o) => (requests.push(`write register ${a}`), link.writeRegister(u, a, v, o)),
  };
  return { access, requests };
}

interface Rig {
  dev: ModbusDevice;
  link: ModbusTcpLink;
  device: DriverInstance;
  requests: string[];
}

/** A pymodbus device, a connected link to it, and a modbus driver instance built from raw options. */
async function rig(t: TestContext, rawOptions: unknown, units = [1]): Promise<Rig> {
  const driver = getDriver('modbus');
  assert.ok(driver);
  const { options, issues } = driver.parseOptions(rawOptions, gatePoints, 'devices[0].options');
  assert.deepEqual(issues, []);

  const dev = await startModbusDevice({ units });
  t.after(() => dev.stop());
  const link = new ModbusTcpLink(
    'driver-test',
    { host: '127.0.0.1', port: dev.port, timeoutMs: 300, backoff: { initialMs: 50, maxMs: 400 } },
    quiet,
  );
  t.after(() => link.stop());
  const up = once(link, 'up', { signal: AbortSignal.timeout(WAIT_MS) });
  await link.start();
  await up;

  const { access, requests } = counting(link);
  const device = driver.create({ deviceId: 'gate-1', kind: 'gate', options, transport: access, log: quiet });
  return { dev, link, device, requests };
}

test('drivers/index lists the modbus driver for Modbus TCP and RTU transports', () => {
  assert.equal(drivers.modbus, getDriver('modbus'));
  assert.equal(getDriver('modbus')?.name, 'modbus');
  assert.deepEqual(getDriver('modbus')?.transports, ['modbus-tcp', 'modbus-rtu']);
  assert.equal(getDriver('no-such-driver'), undefined);
  assert.equal(getDriver('toString'), undefined);
});

test('a coil output is written and the device stores it', async (t) => {
  const { dev, device } = await rig(t, { outputs: { unlock: { coil: 3 } } });
  assert.deepEqual(device.outputs, ['unlock']);
  await device.write('unlock', true, command);
  const on = await dev.waitForWrite((w) => w.table === 'co' && w.address === 3, WAIT_MS);
  assert.deepEqual(on, { ...on, unit: 1, values: [true] });
  await device.write('unlock', false, command);
  await dev.waitForWrite((w) => w.table === 'co' && w.address === 3 && w.values[0] === false, WAIT_MS);
  assert.deepEqual(await dev.get(1, 'co', 3, 1), [false]);
});

test('a register output writes its on and off values to the configured unit', async (t) => {
  const { dev, device } = await rig(t, { unit: 2, outputs: { unlock: { holding_register: 10, on: 0x55, off: 0xaa } } }, [1, 2]);
  await device.write('unlock', true, command);
  const on = await dev.waitForWrite((w) => w.table === 'hr' && w.address === 10, WAIT_MS);
  assert.deepEqual(on, { ...on, unit: 2, values: [0x55] });
  await device.write('unlock', false, command);
  const off = await dev.waitForWrite((w) => w.table === 'hr' && w.address === 10 && w.values[0] === 0xaa, WAIT_MS);
  assert.equal(off.unit, 2);
  assert.deepEqual(await dev.get(1, 'hr', 10, 1), [0], 'unit 1 untouched');
});

test('default register on/off values are 1 and 0', async (t) => {
  const { dev, device } = await rig(t, { outputs: { unlock: { holding_register: 4 } } });
  await device.write('unlock', true, command);
  await dev.waitForWrite((w) => w.table === 'hr' && w.address === 4 && w.values[0] === 1, WAIT_MS);
  await device.write('unlock', false, command);
  await dev.waitForWrite((w) => w.table === 'hr' && w.address === 4 && w.values[0] === 0, WAIT_MS);
});

test('read() returns every input by name and a readback of every output', async (t) => {
  const { dev, device } = await rig(t, {
    outputs: { unlock: { coil: 0 }, buzzer: { holding_register: 20, on: 9, off: 1 } },
    inputs: {
      door: { discrete_input: 0 },
      tamper: { discrete_input: 1, invert: true },
      count: { input_register: 5 },
      mode: { holding_register: 21, on: 2 },
    },
  });
  assert.deepEqual([...device.inputs].sort(), ['count', 'door', 'mode', 'tamper']);
  await dev.set(1, 'di', 0, [true, true]);
  await dev.set(1, 'ir', 5, [4242]);
  await dev.set(1, 'hr', 20, [9, 2]);
  await dev.set(1, 'co', 0, [true]);
  assert.deepEqual(await device.read(poll), { door: true, tamper: false, count: 4242, mode: true, unlock: true, buzzer: true });

  await dev.set(1, 'di', 0, [false, false]);
  await dev.set(1, 'ir', 5, [7]);
  await dev.set(1, 'hr', 20, [1, 3]);
  await dev.set(1, 'co', 0, [false]);
  assert.deepEqual(await device.read(poll), { door: false, tamper: true, count: 7, mode: false, unlock: false, buzzer: false });

  await device.write('unlock', true, command);
  await device.write('buzzer', true, command);
  const readback = await device.read(poll);
  assert.equal(readback.unlock, true);
  assert.equal(readback.buzzer, true);
});

test('a gate with its door on DI 0 and its relay on coil 0 costs two requests per read', async (t) => {
  const { device, requests } = await rig(t, { outputs: { unlock: { coil: 0 } }, inputs: { door: { discrete_input: 0 } } });
  await device.read(poll);
  assert.deepEqual(requests.sort(), ['coils 0+1', 'discrete inputs 0+1']);
});

test('adjacent points in one table are read together', async (t) => {
  const { dev, device, requests } = await rig(t, {
    outputs: { unlock: { holding_register: 10 } },
    inputs: { mode: { holding_register: 11, on: 1 }, door: { discrete_input: 2 }, tamper: { discrete_input: 3 } },
  });
  await dev.set(1, 'hr', 10, [1, 1]);
  await dev.set(1, 'di', 2, [false, true]);
  assert.deepEqual(await device.read(poll), { unlock: true, mode: true, door: false, tamper: true });
  assert.deepEqual(requests.sort(), ['discrete inputs 2+2', 'holding registers 10+2']);
});

test('an unknown output is a device_error and nothing goes on the wire', async (t) => {
  const { dev, device, requests } = await rig(t, { outputs: { unlock: { coil: 0 } } });
  await assert.rejects(device.write('open_sesame', true, command), (err: unknown) => {
    assert.ok(err instanceof DeviceError);
    assert.equal(err.code, 'device_error');
    assert.match(err.message, /open_sesame/);
    return true;
  });
  assert.deepEqual(requests, []);
  await device.write('unlock', true, command);
  await dev.waitForWrite((w) => w.table === 'co', WAIT_MS);
  assert.equal(dev.writes.length, 1);
});

test('transport errors pass through unchanged: timeout, exception, offline', async (t) => {
  const { dev, link, device } = await rig(t, { unit: 2, outputs: { unlock: { coil: 0 } }, inputs: { door: { discrete_input: 0 } } }, [1, 2]);
  await dev.mute(2, true);
  await assert.rejects(device.read(poll), (err: unknown) => err instanceof DeviceError && err.code === 'timeout');
  await assert.rejects(device.write('unlock', true, command), (err: unknown) => err instanceof DeviceError && err.code === 'timeout');
  await dev.mute(2, false);

  const driver = getDriver('modbus');
  assert.ok(driver);
  const { options } = driver.parseOptions(
    { outputs: { unlock: { coil: 250 } } },
    gatePoints,
    'devices[1].options',
  );
  const missing = driver.create({ deviceId: 'gate-2', kind: 'gate', options, transport: link, log: quiet });
  await assert.rejects(missing.read(poll), (err: unknown) => err instanceof ModbusExceptionError && err.exceptionCode === 2);
  await assert.rejects(missing.write('unlock', true, command), (err: unknown) => err instanceof ModbusExceptionError);

  await link.stop();
  await assert.rejects(device.read(poll), (err: unknown) => err instanceof DeviceError && err.code === 'offline');
  await assert.rejects(device.write('unlock', false, command), (err: unknown) => err instanceof DeviceError && err.code === 'offline');
});
