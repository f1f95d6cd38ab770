import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTransport, type TransportConfig } from '../../src/transport/registry.js';
import { startModbusDevice } from '../support/modbus-device.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const WAIT_MS = 10_000;

async function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${WAIT_MS} ms`)), WAIT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

test('a modbus-tcp config from the user file builds a working transport', async (t) => {
  const dev = await startModbusDevice();
  t.after(() => dev.stop());
  const cfg: TransportConfig = {
    type: 'modbus-tcp',
    host: '127.0.0.1',
    port: dev.port,
    timeout_ms: 300,
    backoff: { initial_ms: 50, max_ms: 400 },
  };
  const transport = createTransport('panel-a', cfg, quiet);
  t.after(() => transport.stop());
  assert.equal(transport.connected, false, 'inert until started');
  assert.equal(transport.access.kind, 'modbus');
  assert.equal(transport.access.name, 'panel-a');

  const events: string[] = [];
  const up = new Promise<void>((resolve) =>
    transport.on('up', () => {
      events.push('up');
      resolve();
    }),
  );
  const down = new Promise<void>((resolve) =>
    transport.on('down', () => {
      events.push('down');
      resolve();
    }),
  );
  await transport.start();
  await within("'up' event", up);
  assert.equal(transport.connected, true);
  await dev.set(1, 'ir', 0, [99]);
  assert.deepEqual(await transport.access.readInputRegisters(1, 0, 1, { priority: 'poll' }), [99]);

  await dev.kill();
  await within("'down' event", down);
  assert.equal(transport.connected, false);
  assert.deepEqual(events, ['up', 'down']);
});

test('an unknown transport type is refused by name', () => {
  const bogus = { type: 'carrier-pigeon' } as unknown as TransportConfig;
  assert.throws(() => createTransport('loft', bogus, quiet), /transport loft: unknown type "carrier-pigeon"/);
});
