// MQTT 3.1.1 server requirements aedes 1.2.0 misses, each reproduced with raw bytes on a real
// socket: first against a bare aedes (which accepts the violation), then against gatehouse's
// broker (which closes the connection before aedes sees the packet).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import {
  PACKET,
  RawClient,
  connectPacket,
  frame,
  publishPacket,
  startBareAedes,
  startBroker,
  str,
  subscribePacket,
  u16,
  unsubscribePacket,
  waitFor,
  type ConnectFields,
} from './support.js';

const LOGIN: ConnectFields = { clientId: 'guarded', username: 'spy', password: 'spy-secret' };
const ANONYMOUS_ALL = { enabled: true, publish: ['#'], subscribe: ['#'] };

/** CONNECT built field by field, for flag combinations connectPacket() will not produce. */
function rawConnect(flags: number, fields: Buffer[], name = 'MQTT', level = 4): Buffer {
  return frame(0x10, Buffer.concat([str(name), Buffer.from([level, flags]), u16(0), ...fields]));
}

const ILL_FORMED = Buffer.from([0x61, 0xff, 0x62]); // 0xFF never appears in UTF-8
const SURROGATE = Buffer.from([0x61, 0xed, 0xa0, 0x80]); // U+D800 encoded: ill-formed (MQTT-1.5.3-1)

interface Case {
  clause: string;
  name: string;
  /** Sent as the CONNECT (a connect-stage violation) or after a successful CONNECT. */
  stage: 'connect' | 'session';
  bytes: Buffer;
  /** What bare aedes answers, proving it accepted the packet; 'silent-close' when it closes without CONNACK. */
  bareAnswer: number | 'silent-close';
  /** For the CONNECT case answered with a return code before closing. */
  guardedConnack?: number;
}

const CASES: Case[] = [
  {
    clause: 'MQTT-3.1.3-10',
    name: 'will topic with a wildcard',
    stage: 'connect',
    bytes: connectPacket({ clientId: 'will-wild', will: { topic: 'wills/+', payload: 'bye', retain: true } }),
    bareAnswer: PACKET.CONNACK,
  },
  {
    clause: 'MQTT-3.1.3-10',
    name: 'empty will topic',
    stage: 'connect',
    bytes: connectPacket({ clientId: 'will-empty', will: { topic: '', payload: 'bye' } }),
    bareAnswer: PACKET.CONNACK,
  },
  {
    clause: 'MQTT-3.1.3-8',
    name: 'zero-length client id under MQTT 3.1 (MQIsdp, level 3)',
    stage: 'connect',
    bytes: rawConnect(0x02, [str('')], 'MQIsdp', 3),
    bareAnswer: PACKET.CONNACK,
    guardedConnack: 2,
  },
  {
    clause: 'MQTT-3.1.2-1',
    name: 'protocol name MQIsdp with level 4',
    stage: 'connect',
    bytes: rawConnect(0x02, [str('mqisdp-4')], 'MQIsdp', 4),
    bareAnswer: PACKET.CONNACK,
  },
  {
    clause: 'MQTT-3.1.2-1',
    name: 'protocol name MQTT with level 3',
    stage: 'connect',
    bytes: rawConnect(0x02, [str('mqtt-3')], 'MQTT', 3),
    bareAnswer: PACKET.CONNACK,
  },
  {
    clause: 'MQTT-3.1.2-2',
    name: 'protocol level 0x84 (bridge bit)',
    stage: 'connect',
    bytes: rawConnect(0x02, [str('bridge')], 'MQTT', 0x84),
    bareAnswer: PACKET.CONNACK,
    guardedConnack: 1,
  },
  {
    clause: 'MQTT-3.1.2-2',
    name: 'unsupported protocol level 6',
    stage: 'connect',
    bytes: rawConnect(0x02, [str('level-6')], 'MQTT', 6),
    bareAnswer: 'silent-close',
    guardedConnack: 1,
  },
  {
    clause: 'MQTT-3.1.4-1',
    name: 'bytes after the last CONNECT field',
    stage: 'connect',
    bytes: rawConnect(0x02, [str('trailing'), Buffer.from([0xde, 0xad])]),
    bareAnswer: PACKET.CONNACK,
  },
  {
    clause: 'MQTT-4.7.1-2',
    name: "SUBSCRIBE filter 'a+' (wildcard inside a level)",
    stage: 'session',
    bytes: subscribePacket(4, [{ filter: 'a+', qos: 0 }]),
    bareAnswer: PACKET.SUBACK,
  },
  {
    clause: 'MQTT-4.7.1-2',
    name: "SUBSCRIBE filter 'a#' ('#' not a whole level)",
    stage: 'session',
    bytes: subscribePacket(4, [{ filter: 'a#', qos: 0 }]),
    bareAnswer: PACKET.SUBACK,
  },
  {
    clause: 'MQTT-4.7.1-2',
    name: "UNSUBSCRIBE filter '+a'",
    stage: 'session',
    bytes: unsubscribePacket(4, ['+a']),
    bareAnswer: PACKET.UNSUBACK,
  },
  {
    clause: 'MQTT-4.8.0-1',
    name: 'PINGREQ with a body',
    stage: 'session',
    bytes: frame(0xc0, Buffer.from([1, 2, 3, 4])),
    bareAnswer: PACKET.PINGRESP,
  },
  {
    clause: 'MQTT-4.8.0-1',
    name: 'PUBACK with a 4-byte body',
    stage: 'session',
    bytes: frame(0x40, Buffer.from([0, 1, 0, 0])),
    bareAnswer: PACKET.PINGRESP,
  },
  {
    clause: 'MQTT-3.1.2-22',
    name: 'password flag without user name flag',
    stage: 'connect',
    bytes: rawConnect(0x42, [str('pw-only'), str('secret')]),
    bareAnswer: PACKET.CONNACK,
  },
  {
    clause: 'MQTT-3.1.2-14',
    name: 'will QoS 3',
    stage: 'connect',
    bytes: rawConnect(0x02 | 0x04 | (3 << 3), [str('will-q3'), str('wills/x'), str('bye')]),
    bareAnswer: PACKET.CONNACK,
  },
  {
    clause: 'MQTT-3.1.3-8',
    name: 'zero-length client id without clean session',
    stage: 'connect',
    bytes: connectPacket({ clientId: '', clean: false }),
    bareAnswer: PACKET.CONNACK,
    guardedConnack: 2,
  },
  {
    clause: 'MQTT-1.5.3-1',
    name: 'ill-formed UTF-8 client id',
    stage: 'connect',
    bytes: rawConnect(0x02, [str(ILL_FORMED)]),
    bareAnswer: PACKET.CONNACK,
  },
  {
    clause: 'MQTT-1.5.3-1',
    name: 'ill-formed UTF-8 will topic',
    stage: 'connect',
    bytes: rawConnect(0x02 | 0x04, [str('will-utf8'), str(SURROGATE), str('bye')]),
    bareAnswer: PACKET.CONNACK,
  },
  {
    clause: 'MQTT-1.5.3-2',
    name: 'U+0000 in the user name',
    stage: 'connect',
    bytes: rawConnect(0x02 | 0x80 | 0x40, [str('nul-user'), str('sp\u0000y'), str('spy-secret')]),
    bareAnswer: PACKET.CONNACK,
  },
  {
    clause: 'MQTT-1.5.3-1',
    name: 'ill-formed UTF-8 PUBLISH topic (0xFF)',
    stage: 'session',
    bytes: frame(0x30, Buffer.concat([str(ILL_FORMED), Buffer.from('payload')])),
    bareAnswer: PACKET.PINGRESP,
  },
  {
    clause: 'MQTT-1.5.3-1',
    name: 'ill-formed UTF-8 PUBLISH topic (encoded surrogate)',
    stage: 'session',
    bytes: frame(0x32, Buffer.concat([str(SURROGATE), u16(5), Buffer.from('payload')])),
    bareAnswer: PACKET.PUBACK,
  },
  {
    clause: 'MQTT-1.5.3-1',
    name: 'ill-formed UTF-8 SUBSCRIBE filter',
    stage: 'session',
    bytes: subscribePacket(4, [{ filter: ILL_FORMED, qos: 0 }]),
    bareAnswer: PACKET.SUBACK,
  },
  {
    clause: 'MQTT-1.5.3-2',
    name: 'U+0000 in a SUBSCRIBE filter',
    stage: 'session',
    bytes: subscribePacket(4, [{ filter: 'a/\u0000', qos: 0 }]),
    bareAnswer: PACKET.SUBACK,
  },
  {
    clause: 'MQTT-1.5.3-1',
    name: 'ill-formed UTF-8 UNSUBSCRIBE filter',
    stage: 'session',
    bytes: unsubscribePacket(4, [ILL_FORMED]),
    bareAnswer: PACKET.UNSUBACK,
  },
  {
    clause: 'MQTT-2.3.1-1',
    name: 'QoS 1 PUBLISH with packet identifier 0',
    stage: 'session',
    bytes: publishPacket({ topic: 'chat/x', qos: 1, messageId: 0 }),
    bareAnswer: PACKET.PUBACK,
  },
  {
    clause: 'MQTT-2.3.1-1',
    name: 'QoS 2 PUBLISH with packet identifier 0',
    stage: 'session',
    bytes: publishPacket({ topic: 'chat/x', qos: 2, messageId: 0 }),
    bareAnswer: PACKET.PUBREC,
  },
  {
    clause: 'MQTT-2.3.1-1',
    name: 'SUBSCRIBE with packet identifier 0',
    stage: 'session',
    bytes: subscribePacket(0, [{ filter: 'chat/#', qos: 0 }]),
    bareAnswer: PACKET.SUBACK,
  },
  {
    clause: 'MQTT-2.3.1-1',
    name: 'UNSUBSCRIBE with packet identifier 0',
    stage: 'session',
    bytes: unsubscribePacket(0, ['chat/#']),
    bareAnswer: PACKET.UNSUBACK,
  },
  {
    clause: 'MQTT-3.3.1-2',
    name: 'DUP flag on a QoS 0 PUBLISH',
    stage: 'session',
    bytes: publishPacket({ topic: 'chat/x', qos: 0, dup: true }),
    bareAnswer: PACKET.PINGRESP,
  },
  {
    clause: 'MQTT-3.10.3-2',
    name: 'UNSUBSCRIBE without a topic filter',
    stage: 'session',
    bytes: frame(0xa2, u16(6)),
    bareAnswer: PACKET.UNSUBACK,
  },
];

async function open(t: TestContext, port: number, c: Case): Promise<RawClient> {
  const client = c.stage === 'session' ? await RawClient.connected(t, port, LOGIN) : await RawClient.open(t, port);
  client.send(c.bytes);
  return client;
}

for (const c of CASES) {
  test(`${c.clause}: ${c.name} -> accepted by bare aedes, connection closed by gatehouse`, async (t) => {
    const barePort = await startBareAedes(t);
    const bare = await open(t, barePort, c);
    if (c.bareAnswer === 'silent-close') {
      assert.equal(await bare.closesWithin(), true);
      assert.deepEqual(bare.frames, [], 'bare aedes closes without CONNACK');
    } else if (c.bareAnswer === PACKET.PINGRESP) await bare.ping();
    else if (c.bareAnswer === PACKET.CONNACK) assert.equal((await bare.next(PACKET.CONNACK)).body[1], 0, 'bare aedes accepts the CONNECT');
    else await bare.next(c.bareAnswer);
    if (c.bareAnswer !== 'silent-close') assert.equal(bare.isClosed, false);

    const { port, broker, lines } = await startBroker(t, { anonymous: ANONYMOUS_ALL });
    const guarded = await open(t, port, c);
    assert.equal(await guarded.closesWithin(), true, 'gatehouse closes the connection (MQTT 3.1.1 section 4.8)');
    const connacks = guarded.frames.filter((f) => f.type === PACKET.CONNACK);
    if (c.guardedConnack !== undefined) {
      assert.deepEqual(connacks.map((f) => f.body[1]), [c.guardedConnack]);
    } else if (c.stage === 'connect') {
      assert.equal(connacks.length, 0, 'no CONNACK for a malformed CONNECT');
    }
    assert.deepEqual(guarded.frames.filter((f) => f.type !== PACKET.CONNACK), [], 'no answer to the offending packet');
    assert.ok(lines.some((l) => l.msg === 'mqtt protocol violation; closing connection' && l.clause === c.clause));

    // Other clients are unaffected.
    const other = await RawClient.connected(t, port, { ...LOGIN, clientId: 'bystander' });
    await other.ping();
    await waitFor('only the bystander to be connected', () => broker.connectedClients() === 1);
  });
}

test('packets larger than limits.maxPacketBytes are refused from their fixed header, before the body is buffered', async (t) => {
  const { port, lines } = await startBroker(t, { anonymous: ANONYMOUS_ALL, limits: { maxPacketBytes: 1024 } });
  const client = await RawClient.connected(t, port, LOGIN);
  client.send(publishPacket({ topic: 'chat/small', payload: Buffer.alloc(900), qos: 1, messageId: 1 }));
  await client.next(PACKET.PUBACK);
  // Fixed header announcing a 2 MiB PUBLISH; the body never comes.
  client.send(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x01]));
  assert.equal(await client.closesWithin(), true);
  assert.ok(lines.some((l) => l.msg === 'mqtt protocol violation; closing connection' && l.clause === 'limit'));
});

test('a remaining length in more than four bytes closes the connection (MQTT 3.1.1 section 2.2.3)', async (t) => {
  const { port } = await startBroker(t, { anonymous: ANONYMOUS_ALL });
  const client = await RawClient.connected(t, port, LOGIN);
  client.send(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
  assert.equal(await client.closesWithin(), true);
});

test('the guard reassembles packets split across TCP segments and passes valid traffic unchanged', async (t) => {
  const { port, commands } = await startBroker(t, { anonymous: ANONYMOUS_ALL });
  const client = await RawClient.open(t, port);
  const bytes = Buffer.concat([
    connectPacket({ clientId: 'slow', username: 'operator', password: 'op-secret' }),
    subscribePacket(1, [{ filter: 'chat/#', qos: 1 }]),
    publishPacket({ topic: 'chat/échange', payload: 'ü', qos: 1, messageId: 2 }),
    publishPacket({ topic: 'site/hq/gate/g1/unlock', payload: '{}', qos: 1, messageId: 3 }),
  ]);
  // One byte per write, each flushed on its own (TCP_NODELAY), so the broker reads many small chunks.
  for (const byte of bytes) {
    client.send(Buffer.from([byte]));
    await new Promise((r) => setImmediate(r));
  }
  assert.equal((await client.next(PACKET.CONNACK)).body[1], 0);
  assert.deepEqual([...(await client.next(PACKET.SUBACK)).body], [0, 1, 1]);
  const delivered = await client.next(PACKET.PUBLISH);
  assert.ok(delivered.body.includes(Buffer.from('chat/échange')));
  await client.next(PACKET.PUBACK);
  await client.next(PACKET.PUBACK);
  assert.equal(commands.length, 1);
  assert.equal(commands[0].device, 'g1');
});

test('an MQTT 5 CONNECT is still answered by aedes with CONNACK 1 (MQTT-3.1.2-2)', async (t) => {
  const { port } = await startBroker(t, { anonymous: ANONYMOUS_ALL });
  const client = await RawClient.open(t, port);
  // MQTT 5 CONNECT: protocol level 5, empty properties (length 0) before the client id.
  client.send(frame(0x10, Buffer.concat([str('MQTT'), Buffer.from([5, 0x02]), u16(0), Buffer.from([0]), str('v5')])));
  assert.equal((await client.next(PACKET.CONNACK)).body[1], 1);
  assert.equal(await client.closesWithin(), true);
});
