// A cloud link that goes silent (a cut cable, a stalled NAT: no FIN, no RST) ends by keepalive
// timeout. MQTT.js then fails every outstanding QoS 1 publish while it still reports itself
// connected; none of those messages may be lost: only a PUBACK deletes a row.
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { CloudLink } from '../../src/uplink/cloud-link.js';
import { MemoryOutbox } from '../../src/uplink/outbox.js';
import { startCloudBroker, type CloudBroker } from './cloud-broker.js';
import { cloudSubscriber } from './cloud-subscriber.js';
import { msg } from './outbox-conformance.js';
import { uniqueId, until } from './uplink-harness.js';

const WAIT_MS = 20_000;
const log = pino({ level: process.env.GATEHOUSE_TEST_DEBUG ? 'debug' : 'silent' });

/** A loopback TCP relay to the broker that can stop passing bytes without closing anything. */
async function freezableRelay(targetPort: number): Promise<{ port: number; frozen: boolean; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const relay = { port: 0, frozen: false, close: async () => undefined as void };
  const server: Server = createServer((inbound) => {
    const outbound = connect({ host: '127.0.0.1', port: targetPort });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    inbound.on('data', (chunk) => relay.frozen || outbound.write(chunk));
    outbound.on('data', (chunk) => relay.frozen || inbound.write(chunk));
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.port = (server.address() as { port: number }).port;
  relay.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return relay;
}

let cloud: CloudBroker;
before(async () => {
  cloud = await startCloudBroker();
});
after(() => cloud?.dispose());

test('a link that goes silent loses nothing: everything in flight is sent again on the next connection', async (t) => {
  const prefix = uniqueId('silent');
  const sub = await cloudSubscriber({ url: cloud.url, filters: [`${prefix}/#`], clientId: uniqueId('watch'), clean: true });
  t.after(() => sub.close());
  const relay = await freezableRelay(cloud.port);
  t.after(() => relay.close());
  const outbox = new MemoryOutbox({ maxMessages: 10_000, maxBytes: 10_000_000 });
  const link = new CloudLink(
    {
      url: `mqtt://127.0.0.1:${relay.port}`,
      clientId: uniqueId('link'),
      keepaliveS: 1,
      connectTimeoutMs: 1000,
      will: { topic: `${prefix}/availability`, payload: 'offline' },
      subscriptions: [],
      inflight: 20,
      backoff: { initialMs: 100, maxMs: 300 },
    },
    outbox,
    { birth: () => [], onCommand: () => undefined },
    log,
  );
  t.after(() => link.stop(0));
  link.start();
  await until('the link to come up', () => link.stats().state === 'up', WAIT_MS);

  relay.frozen = true;
  const COUNT = 50;
  outbox.append(Array.from({ length: COUNT }, (_, i) => msg(`${prefix}/result`, String(i + 1), 'result')));
  link.notify();
  await until('the keepalive timeout to end the silent connection', () => link.stats().state !== 'up', WAIT_MS);
  assert.equal(outbox.stats().depth, COUNT, 'nothing deleted without a PUBACK');
  relay.frozen = false;

  const results = () => sub.messages.filter((m) => m.topic === `${prefix}/result`);
  await sub.waitFor('every message', () => new Set(results().map((m) => m.text)).size >= COUNT, WAIT_MS);
  await until('the outbox to empty', () => outbox.stats().depth === 0, WAIT_MS);
  const firstSeen = [...new Set(results().map((m) => m.text))].map(Number);
  assert.deepEqual(firstSeen, Array.from({ length: COUNT }, (_, i) => i + 1), 'every message, in order of first arrival');
  assert.ok(results().length <= COUNT + 20, `duplicates bounded by the in-flight window (${results().length - COUNT})`);
});
