// MQTT 3.1.1 delivery rules aedes 1.2.0 gets wrong (QoS cap, overlapping subscriptions, DUP, '$'
// topics, packet identifiers, Session Present, publish ordering). Each is reproduced with raw
// bytes on a real socket against a bare aedes, then shown fixed in gatehouse's broker.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Broker } from '../../src/broker/broker.js';
import {
  PACKET,
  RawClient,
  connectPacket,
  disconnectPacket,
  frame,
  parsePublish,
  pubackPacket,
  publishPacket,
  pubrelPacket,
  startBareAedesInstance,
  startBroker,
  subscribePacket,
  u16,
  waitFor,
  type ConnectFields,
  type ReceivedPublish,
} from './support.js';

const SPY = { username: 'spy', password: 'spy-secret' };

interface Target {
  port: number;
  /** Publishes as a privileged party: the gateway for gatehouse, a plain client for bare aedes. */
  publishPrivileged(topic: string, qos: 0 | 1, retain: boolean): Promise<void>;
}

async function bareTarget(t: TestContext): Promise<Target> {
  const { port } = await startBareAedesInstance(t);
  return {
    port,
    async publishPrivileged(topic, qos, retain) {
      const c = await RawClient.connected(t, port, { clientId: `priv-${Math.random()}` });
      c.send(publishPacket({ topic, qos, retain, messageId: 1, payload: 'x' }));
      if (qos === 1) await c.next(PACKET.PUBACK);
      else await c.ping();
      c.send(disconnectPacket());
    },
  };
}

async function gatehouseTarget(t: TestContext): Promise<Target & { broker: Broker }> {
  const { broker, port } = await startBroker(t);
  return { port, broker, publishPrivileged: (topic, qos, retain) => broker.publish(topic, 'x', { qos, retain }) };
}

async function connect(t: TestContext, port: number, fields: ConnectFields): Promise<RawClient> {
  return RawClient.connected(t, port, { ...SPY, ...fields });
}

async function subscribe(c: RawClient, filters: { filter: string; qos: number }[], id = 1): Promise<number[]> {
  c.send(subscribePacket(id, filters));
  return [...(await c.next(PACKET.SUBACK)).body.subarray(2)];
}

/** Client-side QoS 1/2 publish with the full handshake. */
async function publishFrom(c: RawClient, p: { topic: string; qos: 1 | 2; retain?: boolean; dup?: boolean; messageId: number; payload?: string }): Promise<void> {
  c.send(publishPacket({ ...p, payload: p.payload ?? 'x' })); // an empty retained payload would delete (MQTT-3.3.1-10)
  if (p.qos === 1) {
    await c.next(PACKET.PUBACK);
    return;
  }
  await c.next(PACKET.PUBREC);
  c.send(pubrelPacket(p.messageId));
  await c.next(PACKET.PUBCOMP);
}

async function nextPublish(c: RawClient): Promise<ReceivedPublish> {
  return parsePublish(await c.next(PACKET.PUBLISH));
}

// MQTT-3.8.4-6 ----------------------------------------------------------------------------------

async function wildcardQos(t: TestContext, port: number): Promise<number> {
  const sub = await connect(t, port, { clientId: 'cap-sub' });
  assert.deepEqual(await subscribe(sub, [{ filter: 'dg/#', qos: 1 }]), [1]);
  const pub = await connect(t, port, { clientId: 'cap-pub' });
  await publishFrom(pub, { topic: 'dg/x', qos: 2, messageId: 5 });
  return (await nextPublish(sub)).qos;
}

test('MQTT-3.8.4-6: delivery through a wildcard filter is capped at the granted QoS', async (t) => {
  assert.equal(await wildcardQos(t, (await bareTarget(t)).port), 2, 'bare aedes delivers QoS 2 on a QoS 1 grant');
  assert.equal(await wildcardQos(t, (await gatehouseTarget(t)).port), 1);
});

async function retainedQos(t: TestContext, port: number): Promise<number> {
  const pub = await connect(t, port, { clientId: 'ret-pub' });
  await publishFrom(pub, { topic: 'rt/x', qos: 1, retain: true, messageId: 2 });
  await pub.ping(); // aedes stores the retained message after the PUBACK; the next packet waits for it
  const sub = await connect(t, port, { clientId: 'ret-sub' });
  assert.deepEqual(await subscribe(sub, [{ filter: 'rt/#', qos: 0 }]), [0]);
  const got = await nextPublish(sub);
  assert.equal(got.retain, true);
  return got.qos;
}

test('MQTT-3.8.4-6: a retained message sent on SUBSCRIBE is capped at the granted QoS', async (t) => {
  assert.equal(await retainedQos(t, (await bareTarget(t)).port), 1, 'bare aedes sends QoS 1 on a QoS 0 grant');
  assert.equal(await retainedQos(t, (await gatehouseTarget(t)).port), 0);
});

async function offlineQos(t: TestContext, port: number): Promise<number> {
  const first = await connect(t, port, { clientId: 'off-sub', clean: false });
  assert.deepEqual(await subscribe(first, [{ filter: 'off/x', qos: 1 }]), [1]);
  first.send(disconnectPacket());
  await first.closed;
  const pub = await connect(t, port, { clientId: 'off-pub' });
  await publishFrom(pub, { topic: 'off/x', qos: 2, messageId: 9 });
  const again = await connect(t, port, { clientId: 'off-sub', clean: false });
  return (await nextPublish(again)).qos;
}

test('MQTT-3.8.4-6: a message queued for an offline session is capped at the granted QoS', async (t) => {
  assert.equal(await offlineQos(t, (await bareTarget(t)).port), 2, 'bare aedes resends at the publish QoS');
  assert.equal(await offlineQos(t, (await gatehouseTarget(t)).port), 1);
});

// MQTT-3.3.5-1 ----------------------------------------------------------------------------------

async function overlapQos(t: TestContext, port: number, filters: { filter: string; qos: number }[]): Promise<number[]> {
  const sub = await connect(t, port, { clientId: `ov-${filters[0].filter}` });
  await subscribe(sub, filters);
  const pub = await connect(t, port, { clientId: 'ov-pub' });
  await publishFrom(pub, { topic: 'ov/x', qos: 2, messageId: 3 });
  await publishFrom(pub, { topic: 'ov/end', qos: 1, messageId: 4 }); // matches only 'ov/#': a barrier
  const received: number[] = [];
  for (;;) {
    const p = await nextPublish(sub);
    if (p.topic === 'ov/end') return received;
    received.push(p.qos);
  }
}

test('MQTT-3.3.5-1: overlapping subscriptions deliver one copy at the highest granted QoS', async (t) => {
  const wildcardLow = [{ filter: 'ov/#', qos: 0 }, { filter: 'ov/x', qos: 2 }];
  const exactLow = [{ filter: 'ov/x', qos: 0 }, { filter: 'ov/#', qos: 2 }];
  const bare = (await bareTarget(t)).port;
  assert.deepEqual(await overlapQos(t, bare, wildcardLow), [0], 'bare aedes: QoS 0');
  assert.deepEqual(await overlapQos(t, bare, exactLow), [0], 'bare aedes: QoS 0');
  const ours = (await gatehouseTarget(t)).port;
  assert.deepEqual(await overlapQos(t, ours, wildcardLow), [2]);
  assert.deepEqual(await overlapQos(t, ours, exactLow), [2]);
});

// MQTT-3.3.1-1 / 3.3.1-3 ------------------------------------------------------------------------

async function forwardedDup(t: TestContext, port: number): Promise<{ q0: boolean; q1: boolean }> {
  const q0 = await connect(t, port, { clientId: 'dup-q0' });
  await subscribe(q0, [{ filter: 'dup/#', qos: 0 }]);
  const q1 = await connect(t, port, { clientId: 'dup-q1' });
  await subscribe(q1, [{ filter: 'dup/#', qos: 1 }]);
  const pub = await connect(t, port, { clientId: 'dup-pub' });
  await publishFrom(pub, { topic: 'dup/x', qos: 1, dup: true, messageId: 8 });
  return { q0: (await nextPublish(q0)).dup, q1: (await nextPublish(q1)).dup };
}

test('MQTT-3.3.1-3: DUP on a forwarded message is not copied from the publisher', async (t) => {
  assert.deepEqual(await forwardedDup(t, (await bareTarget(t)).port), { q0: true, q1: true }, 'bare aedes copies DUP=1');
  assert.deepEqual(await forwardedDup(t, (await gatehouseTarget(t)).port), { q0: false, q1: false });
});

async function resendDup(t: TestContext, port: number): Promise<{ first: ReceivedPublish; resent: ReceivedPublish }> {
  const sub = await connect(t, port, { clientId: 'rs-sub', clean: false });
  await subscribe(sub, [{ filter: 'rs/#', qos: 1 }]);
  const pub = await connect(t, port, { clientId: 'rs-pub' });
  await publishFrom(pub, { topic: 'rs/x', qos: 1, messageId: 6 });
  const first = await nextPublish(sub); // never acknowledged
  sub.destroy();
  await sub.closed;
  const again = await connect(t, port, { clientId: 'rs-sub', clean: false });
  return { first, resent: await nextPublish(again) };
}

test('MQTT-3.3.1-1: a QoS 1 message resent after reconnect carries DUP=1 and the same identifier', async (t) => {
  const bare = await resendDup(t, (await bareTarget(t)).port);
  assert.equal(bare.resent.messageId, bare.first.messageId);
  assert.equal(bare.resent.dup, false, 'bare aedes resends with DUP=0');
  const ours = await resendDup(t, (await gatehouseTarget(t)).port);
  assert.equal(ours.first.dup, false);
  assert.equal(ours.resent.messageId, ours.first.messageId);
  assert.equal(ours.resent.dup, true);
});

// MQTT-4.7.2-1 ----------------------------------------------------------------------------------

async function dollarLeaks(t: TestContext, target: Target): Promise<{ retained: boolean; offline: boolean }> {
  const port = target.port;
  await target.publishPrivileged('$app/retained', 0, true);
  const sub = await connect(t, port, { clientId: 'dl-sub', clean: false });
  await subscribe(sub, [{ filter: '#', qos: 1 }]);
  // Barrier: a live message published after the SUBACK, once the retained ones have gone out.
  await target.publishPrivileged('marker/live', 1, false);
  const seen: string[] = [];
  while (!seen.includes('marker/live')) seen.push((await nextPublish(sub)).topic);
  const retained = seen.includes('$app/retained');

  sub.send(disconnectPacket());
  await sub.closed;
  await target.publishPrivileged('$app/secret', 1, false);
  await target.publishPrivileged('marker/queued', 1, false); // queued after the '$' one
  const again = await connect(t, port, { clientId: 'dl-sub', clean: false });
  const queued: string[] = [];
  while (!queued.includes('marker/queued')) queued.push((await nextPublish(again)).topic);
  return { retained, offline: queued.includes('$app/secret') };
}

test("MQTT-4.7.2-1: '$' topics never reach a '#' subscriber, neither retained nor from the offline queue", async (t) => {
  assert.deepEqual(await dollarLeaks(t, await bareTarget(t)), { retained: true, offline: true }, 'bare aedes leaks both');
  assert.deepEqual(await dollarLeaks(t, await gatehouseTarget(t)), { retained: false, offline: false });
});

// MQTT-2.3.1-2 / 2.3.1-4 ------------------------------------------------------------------------

const ID_SPACE = 65535;

/** Sends 65536 QoS 1 messages to a subscriber that acknowledges all but the first one. */
async function reusedWhileOutstanding(t: TestContext, port: number): Promise<boolean> {
  const sub = await connect(t, port, { clientId: 'pid-sub' });
  await subscribe(sub, [{ filter: 'pid/#', qos: 1 }]);
  let firstId: number | undefined;
  let received = 0;
  let reused = false;
  sub.frameHook = (f) => {
    if (f.type !== PACKET.PUBLISH) return false;
    const p = parsePublish(f);
    received++;
    if (firstId === undefined) firstId = p.messageId;
    else {
      if (p.messageId === firstId) reused = true;
      sub.send(pubackPacket(p.messageId!));
    }
    return true;
  };
  const pub = await connect(t, port, { clientId: 'pid-pub' });
  const batch = 8192;
  for (let sent = 0; sent < ID_SPACE + 1; sent += batch) {
    const count = Math.min(batch, ID_SPACE + 1 - sent);
    const packets = Array.from({ length: count }, (_, i) => publishPacket({ topic: 'pid/x', qos: 1, messageId: i + 1 }));
    pub.send(Buffer.concat(packets));
    let acked = 0;
    pub.frameHook = (f) => (f.type === PACKET.PUBACK ? (acked++, true) : false);
    await waitFor(`${count} PUBACKs`, () => acked === count, 60_000);
  }
  await waitFor('every message at the subscriber', () => received === ID_SPACE + 1, 60_000);
  return reused;
}

test('MQTT-2.3.1-4: an identifier still awaiting PUBACK is not reused for another PUBLISH', async (t) => {
  assert.equal(await reusedWhileOutstanding(t, (await bareTarget(t)).port), true, 'bare aedes reuses it after 65535 sends');
  assert.equal(await reusedWhileOutstanding(t, (await gatehouseTarget(t)).port), false);
});

// MQTT-3.2.2-2 ----------------------------------------------------------------------------------

async function sessionPresentFlags(t: TestContext, port: number): Promise<number[]> {
  const flags: number[] = [];
  const round = async (fields: ConnectFields) => {
    const c = await RawClient.open(t, port);
    c.send(connectPacket({ ...SPY, clientId: 'sp', ...fields }));
    const connack = await c.next(PACKET.CONNACK);
    flags.push(connack.body[0]);
    c.send(disconnectPacket());
    await c.closed;
  };
  await round({ clean: false }); // new session: 0
  await round({ clean: false }); // existing session without subscriptions: must be 1
  await round({ clean: true }); // clean session: 0 and the old session is gone
  await round({ clean: false }); // new again: 0
  return flags;
}

test('MQTT-3.2.2-2: Session Present is 1 for an existing session even without subscriptions', async (t) => {
  assert.deepEqual(await sessionPresentFlags(t, (await bareTarget(t)).port), [0, 0, 0, 0], 'bare aedes says 0');
  assert.deepEqual(await sessionPresentFlags(t, (await gatehouseTarget(t)).port), [0, 1, 0, 0]);
});

test('MQTT-3.2.2-4: a refused CONNECT answers Session Present 0; a keep alive of 65535 is accepted (no code 6)', async (t) => {
  const { port } = await startBroker(t);
  const ok = await RawClient.open(t, port);
  ok.send(connectPacket({ ...SPY, clientId: 'keep', clean: false, keepalive: 65535 }));
  assert.deepEqual([...(await ok.next(PACKET.CONNACK)).body], [0, 0]);
  ok.send(disconnectPacket());
  await ok.closed;
  const refused = await RawClient.open(t, port);
  refused.send(connectPacket({ username: 'spy', password: 'wrong', clientId: 'keep', clean: false }));
  assert.deepEqual([...(await refused.next(PACKET.CONNACK)).body], [0, 4]);
});

// moscajs/aedes#994 -----------------------------------------------------------------------------

test('the gateway publishing QoS 1 and QoS 0 back to back loses nothing (moscajs/aedes#994)', async (t) => {
  const { aedes, port: barePort } = await startBareAedesInstance(t);
  const bareSub = await connect(t, barePort, { clientId: 'ord' });
  await subscribe(bareSub, [{ filter: 'ord/#', qos: 2 }]);
  for (let i = 0; i < 10; i++) {
    aedes.publish({ cmd: 'publish', topic: 'ord/q2', payload: Buffer.from(String(i)), qos: 2, retain: false, dup: false }, () => {});
    aedes.publish({ cmd: 'publish', topic: 'ord/q0', payload: Buffer.from(String(i)), qos: 0, retain: false, dup: false }, () => {});
  }
  await new Promise<void>((resolve) => aedes.publish({ cmd: 'publish', topic: 'ord/end', payload: Buffer.alloc(0), qos: 1, retain: false, dup: false }, () => resolve()));
  const bareSeen: string[] = [];
  while (!bareSeen.includes('ord/end')) bareSeen.push((await nextPublish(bareSub)).topic);
  assert.ok(bareSeen.filter((x) => x === 'ord/q2').length < 10, 'bare aedes drops QoS 2 messages');

  const { broker, port } = await gatehouseTarget(t);
  const sub = await connect(t, port, { clientId: 'ord' });
  await subscribe(sub, [{ filter: 'ord/#', qos: 1 }]);
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 10; i++) {
    sends.push(broker.publish('ord/q1', String(i), { qos: 1, retain: false }));
    sends.push(broker.publish('ord/q0', String(i), { qos: 0, retain: false }));
  }
  sends.push(broker.publish('ord/end', '', { qos: 1, retain: false }));
  await Promise.all(sends);
  const seen: string[] = [];
  while (!seen.includes('ord/end')) {
    const p = await nextPublish(sub);
    seen.push(p.topic);
    if (p.qos === 1) sub.send(frame(0x40, u16(p.messageId!)));
  }
  assert.equal(seen.filter((x) => x === 'ord/q1').length, 10);
  assert.equal(seen.filter((x) => x === 'ord/q0').length, 10);
});
