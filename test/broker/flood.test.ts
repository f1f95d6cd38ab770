// Hostile-client robustness: QoS 0 floods, abrupt kills, connection storms (mqemitter PR #204).
// Loopback only, bounded counts, every wait has a timeout.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { PACKET, RawClient, WAIT_MS, connectPacket, mqttClient, publishPacket, startBroker, subscribePacket, waitFor } from './support.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const SUBSCRIBED = 200;
const UNSUBSCRIBED = 30_000;

/** 200 QoS 0 publishes to a subscribed topic, then 30000 to one nobody subscribes to, as one buffer. */
function floodBytes(): Buffer {
  const toSubscribed = publishPacket({ topic: 'flood/a', payload: 'x' });
  const toNobody = publishPacket({ topic: 'flood/b', payload: 'x' });
  return Buffer.concat([...Array<Buffer>(SUBSCRIBED).fill(toSubscribed), ...Array<Buffer>(UNSUBSCRIBED).fill(toNobody)]);
}

function runNode(script: string, env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not exit within ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// A bare aedes with a subscriber and a flooding client in one process; GUARD=1 installs the guard.
const REPRODUCTION = `
import { Aedes } from 'aedes';
import net from 'node:net';
import { guardMqEmitterDepth } from './src/broker/guards/mqemitter-depth.ts';
import { connectPacket, publishPacket, subscribePacket } from './test/broker/support.ts';

const aedes = new Aedes();
if (process.env.GUARD === '1' && !guardMqEmitterDepth(aedes.mq)) throw new Error('guard not installed');
await aedes.listen();
const server = net.createServer((s) => { s.setNoDelay(true); aedes.handle(s); });
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;
const open = (id) => new Promise((resolve, reject) => {
  const s = net.connect(port, '127.0.0.1', () => { s.setNoDelay(true); s.write(connectPacket({ clientId: id })); });
  s.once('data', () => resolve(s));
  s.once('error', reject);
});
const sub = await open('sub');
sub.write(subscribePacket(1, [{ filter: 'flood/a', qos: 0 }]));
await new Promise((r) => sub.once('data', r));
const a = publishPacket({ topic: 'flood/a', payload: 'x' });
const b = publishPacket({ topic: 'flood/b', payload: 'x' });
// Done when every subscribed message has been delivered (each arrives as a copy of a); a crash ends the process first.
let received = 0;
const delivered = new Promise((r) => sub.on('data', (d) => { received += d.length; if (received >= ${SUBSCRIBED} * a.length) r(); }));
const pub = await open('pub');
pub.write(Buffer.concat([...Array(${SUBSCRIBED}).fill(a), ...Array(${UNSUBSCRIBED}).fill(b)]));
await delivered;
console.log('survived');
pub.destroy(); sub.destroy();
await new Promise((r) => aedes.close(r));
server.close();
`;

test('mqemitter PR #204 reproduced: a QoS 0 flood overflows the stack of a bare aedes, not of a guarded one', async () => {
  const bare = await runNode(REPRODUCTION, { GUARD: '0' });
  assert.notEqual(bare.code, 0, 'the unguarded broker process dies');
  assert.match(bare.stderr, /Maximum call stack size exceeded/);
  assert.doesNotMatch(bare.stdout, /survived/);

  const guarded = await runNode(REPRODUCTION, { GUARD: '1' });
  assert.equal(guarded.code, 0, guarded.stderr);
  assert.match(guarded.stdout, /survived/);
});

test('a flooding client killed mid-flood and 50 clients dropping at once leave the broker serving others', async (t) => {
  const { broker, port } = await startBroker(t);
  const watcher = await mqttClient(t, port, { username: 'spy', password: 'spy-secret', clientId: 'watcher' });
  let floodSeen = 0;
  watcher.on('message', (topic) => {
    if (topic === 'flood/a') floodSeen++;
  });
  await watcher.subscribeAsync('flood/a', { qos: 0 });

  const flooder = await RawClient.connected(t, port, { clientId: 'flooder', username: 'spy', password: 'spy-secret' });
  const bytes = floodBytes();
  // Half the flood in one write, the rest in small writes, then the socket is destroyed mid-stream.
  flooder.send(bytes.subarray(0, bytes.length / 2));
  for (let offset = bytes.length / 2; offset < (bytes.length * 3) / 4; offset += 4096) flooder.send(bytes.subarray(offset, offset + 4096));
  await waitFor('the flood to reach the subscriber', () => floodSeen > 0);
  flooder.socket.resetAndDestroy();

  // 50 clients connect at once; half drop right after CONNECT, half after their CONNACK.
  const storm = await Promise.all(Array.from({ length: 50 }, () => RawClient.open(t, port)));
  storm.forEach((c, i) => c.send(connectPacket({ clientId: `storm-${i}`, username: 'spy', password: 'spy-secret' })));
  storm.filter((_, i) => i % 2 === 0).forEach((c) => c.socket.resetAndDestroy());
  await Promise.all(storm.filter((_, i) => i % 2 === 1).map((c) => c.next(PACKET.CONNACK).catch(() => undefined)));
  storm.forEach((c) => c.destroy());

  // The broker still serves: old and new clients, pub/sub both ways.
  await waitFor('the storm clients to be gone', () => broker.connectedClients() === 1, WAIT_MS * 3);
  const fresh = await RawClient.connected(t, port, { clientId: 'fresh', username: 'spy', password: 'spy-secret' });
  fresh.send(subscribePacket(1, [{ filter: 'after/#', qos: 1 }]));
  await fresh.next(PACKET.SUBACK);
  await watcher.subscribeAsync('after/#', { qos: 1 });
  await watcher.publishAsync('after/flood', 'still here', { qos: 1 });
  const delivered = await fresh.next(PACKET.PUBLISH);
  assert.ok(delivered.body.includes(Buffer.from('after/flood')));
  await broker.publish('after/gateway', 'ok', { qos: 0, retain: false });
  await fresh.ping();
  assert.equal(broker.connectedClients(), 2);
});

test('stop() leaves nothing behind: a process that starts, serves and stops its broker exits by itself', async () => {
  const script = `
import pino from 'pino';
import net from 'node:net';
import { Broker } from './src/broker/broker.ts';
import { classifyTopic } from './src/topics.ts';
import { connectPacket, publishPacket } from './test/broker/support.ts';
const broker = new Broker(
  { host: '127.0.0.1', port: 0, anonymous: { enabled: true, publish: ['#'], subscribe: ['#'] }, users: [] },
  { classify: (t) => classifyTopic('hq', t), onCommand: () => {}, onSecurityEvent: () => {} },
  pino({ level: 'silent' }),
);
await broker.start();
const socket = net.connect(broker.port, '127.0.0.1');
socket.on('error', () => {});
socket.write(connectPacket({ clientId: 'c', keepalive: 30, will: { topic: 'wills/c', payload: 'gone' } }));
await new Promise((r) => socket.once('data', r));
socket.write(publishPacket({ topic: 'x/y', qos: 1, messageId: 1 }));
await new Promise((r) => socket.once('data', r));
const idle = net.connect(broker.port, '127.0.0.1'); // never sends CONNECT
idle.on('error', () => {});
await new Promise((r) => idle.once('connect', r));
await broker.stop();
console.log('stopped', broker.connectedClients());
`;
  const result = await runNode(script, {}, 30_000);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim(), 'stopped 0');
});
