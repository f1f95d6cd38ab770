// SerialLinePort against a socat pty pair, the test itself holding the device end: line
// splitting across chunks, over-long and partial lines, replies vs unsolicited lines, timeouts.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { SerialPort } from 'serialport';
import { pino } from 'pino';
import { DeviceError } from '../../src/driver-api.js';
import { SerialLinePort } from '../../src/transport/serial-line.js';
import { startPtyPair } from '../support/pty-pair.js';
import { until } from '../support/wait.js';


/**
 * Everything the port has taken in so far: its chunk handler, wrapped. Lets a test write the next
 * piece only once the last one has arrived as a chunk of its own, instead of sleeping in between.
 */
function tapReceived(port: SerialLinePort): () => string {
  let taken = '';
  const inner = port as unknown as { received(chunk: Buffer): void };
  const received = inner.received.bind(port);
  inner.received = (chunk: Buffer) => {
    taken += chunk.toString('latin1');
    received(chunk);
  };
  return () => taken;
}

async function line(t: TestContext): Promise<{ port: SerialLinePort; far: SerialPort; farReceived: () => string; taken: () => string; unsolicited: string[] }> {
  const pair = await startPtyPair();
  t.after(() => pair.dispose());
  const far = new SerialPort({ path: pair.b, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => far.open((err) => (err ? reject(err) : resolve())));
  t.after(() => new Promise<void>((resolve) => (far.isOpen ? far.close(() => resolve()) : resolve())));
  let received = '';
  far.on('data', (c: Buffer) => (received += c.toString('latin1')));
  const port = new SerialLinePort(
    'test-line',
    {
      path: pair.a,
      baudRate: 9600,
      dataBits: 8,
      parity: 'none',
      stopBits: 1,
      terminator: '\r\n',
      encoding: 'latin1',
      replyTimeoutMs: 300,
      maxLineLength: 16,
      backoff: { initialMs: 50, maxMs: 200 },
    },
    pino({ level: 'silent' }),
  );
  t.after(() => port.stop());
  const unsolicited: string[] = [];
  port.onUnsolicited((l) => unsolicited.push(l));
  const taken = tapReceived(port);
  await port.start();
  await until('the port to open', () => port.connected);
  return { port, far, farReceived: () => received, taken, unsolicited };
}

test('a request gets the first accepted line; other lines go to unsolicited listeners', async (t) => {
  const { port, far, farReceived, taken, unsolicited } = await line(t);
  const reply = port.request('PING', (l) => l.startsWith('PONG'), { priority: 'command' });
  await until('the request on the wire', () => farReceived() === 'PING\r\n');
  // A terminator split across writes, and an unsolicited line ahead of the reply.
  far.write('EVENT 1\r');
  await until('the first piece taken in', () => taken() === 'EVENT 1\r');
  far.write('\nPO');
  await until('the second piece taken in', () => taken() === 'EVENT 1\r\nPO');
  far.write('NG 7\r\n');
  assert.equal(await reply, 'PONG 7');
  await until('the unsolicited line', () => unsolicited.includes('EVENT 1'));
});

test('an over-long line is discarded whole; the next line arrives intact', async (t) => {
  const { port, far, taken, unsolicited } = await line(t);
  far.write('X'.repeat(40));
  await until('the first piece taken in', () => taken().length === 40);
  far.write('Y'.repeat(40) + '\r\nSHORT\r\n');
  await until('the short line', () => unsolicited.includes('SHORT'));
  assert.deepEqual(unsolicited, ['SHORT']);
  assert.equal(port.dropped.overlong, 1);
});

test('no reply is a timeout; a partial reply is dropped before the next request', async (t) => {
  const { port, far, farReceived, taken } = await line(t);
  const silent = port.request('HELLO', () => true, { priority: 'poll' });
  await assert.rejects(silent, (err: unknown) => err instanceof DeviceError && err.code === 'timeout');
  far.write('HALF');
  await until('the partial reply taken in', () => taken() === 'HALF');
  const next = port.request('AGAIN', () => true, { priority: 'poll' });
  await until('the next request on the wire', () => farReceived().endsWith('AGAIN\r\n'));
  far.write('WHOLE\r\n');
  assert.equal(await next, 'WHOLE');
});

test('requests fail fast with offline while the port is not open', async () => {
  const port = new SerialLinePort(
    'nowhere',
    {
      path: '/nonexistent/tty',
      baudRate: 9600,
      dataBits: 8,
      parity: 'none',
      stopBits: 1,
      terminator: '\n',
      encoding: 'ascii',
      replyTimeoutMs: 300,
      maxLineLength: 64,
      backoff: { initialMs: 50, maxMs: 200 },
    },
    pino({ level: 'silent' }),
  );
  await port.start();
  try {
    await assert.rejects(
      port.request('X', () => true, { priority: 'command' }),
      (err: unknown) => err instanceof DeviceError && err.code === 'offline' && err.notApplied,
    );
  } finally {
    await port.stop();
  }
});
