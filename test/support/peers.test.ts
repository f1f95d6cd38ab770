// Proves the test peers (pymodbus device, mosquitto broker and clients, MQTT.js helper) work.
import { createServer, type Server } from 'node:net';
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import ModbusRTU from 'modbus-serial';
import { startModbusDevice, type ModbusDevice } from './modbus-device.js';
import { mosquittoPub, mosquittoSub, startMosquitto, type MosquittoBroker } from './mosquitto.js';
import { collect, connectClient, subscribeCollect, topicMatches } from './mqtt-client.js';
import { freePort } from './ports.js';
import { startPtyPair } from './pty-pair.js';
import { requireTool } from './require-tool.js';

// modbus-serial is CommonJS; it sets module.exports.default = module.exports, so `.default` is
// the client class both for TypeScript (NodeNext) and at run time.
type ModbusClient = InstanceType<typeof ModbusRTU.default>;

// modbus-serial calls the close callback only if the socket was still open.
function closeClient(client: ModbusClient): Promise<void> {
  if (!client.isOpen) return Promise.resolve();
  return new Promise((resolve) => client.close(() => resolve()));
}

async function tcpClient(t: TestContext, port: number, timeoutMs = 2_000): Promise<ModbusClient> {
  const client = new ModbusRTU.default();
  await client.connectTCP('127.0.0.1', { port });
  client.setTimeout(timeoutMs);
  t.after(() => closeClient(client));
  return client;
}

async function device(t: TestContext, units: number[]): Promise<ModbusDevice> {
  const dev = await startModbusDevice({ units });
  t.after(() => dev.stop());
  return dev;
}

async function broker(t: TestContext): Promise<MosquittoBroker> {
  const b = await startMosquitto();
  t.after(() => b.stop());
  return b;
}

describe('ports and tools', () => {
  it('freePort returns a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    assert.ok(port > 0 && port < 65536);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('requireTool finds installed tools and names the apt-get fix for missing ones', () => {
    assert.match(requireTool('mosquitto', 'mosquitto'), /^\/.*\/mosquitto$/);
    assert.throws(
      () => requireTool('gatehouse-no-such-tool', 'gatehouse-no-such-pkg'),
      /apt-get install -y gatehouse-no-such-pkg/,
    );
  });
});

describe('modbus device (pymodbus over TCP)', () => {
  it('reports a client coil write on unit 2 and a register write on unit 1', async (t) => {
    const dev = await device(t, [1, 2]);
    const client = await tcpClient(t, dev.port);

    client.setID(2);
    await client.writeCoil(3, true);
    const coil = await dev.waitForWrite((w) => w.unit === 2 && w.table === 'co');
    assert.deepEqual({ ...coil, t: 0 }, { unit: 2, table: 'co', address: 3, values: [true], t: 0 });
    assert.equal(typeof coil.t, 'number');

    client.setID(1);
    await client.writeRegisters(10, [7, 65535]);
    const regs = await dev.waitForWrite((w) => w.table === 'hr');
    assert.deepEqual([regs.unit, regs.address, regs.values], [1, 10, [7, 65535]]);

    assert.deepEqual(await dev.get(2, 'co', 2, 3), [false, true, false]);
    assert.deepEqual(await dev.get(1, 'co', 3, 1), [false], 'units keep separate datastores');
    assert.equal(dev.writes.length, 2);
  });

  it('set changes a discrete input without a write record, and get and clients read it', async (t) => {
    const dev = await device(t, [1]);
    const client = await tcpClient(t, dev.port);
    client.setID(1);

    await dev.set(1, 'di', 5, [true, false, true]);
    await dev.set(1, 'ir', 0, [1234]);
    assert.deepEqual(await dev.get(1, 'di', 5, 3), [true, false, true]);
    const read = await client.readDiscreteInputs(5, 3);
    assert.deepEqual(read.data.slice(0, 3), [true, false, true]);
    assert.deepEqual((await client.readInputRegisters(0, 1)).data, [1234]);
    assert.deepEqual(dev.writes, []);
  });

  it('rejects a bad command and keeps running', async (t) => {
    const dev = await device(t, [1]);
    await assert.rejects(dev.set(9, 'co', 0, [true]), /unknown unit 9/);
    await assert.rejects(dev.get(1, 'hr', 199, 5), /outside/);
    assert.deepEqual(await dev.get(1, 'hr', 199, 1), [0]);
  });

  it('a muted unit does not answer while another unit still does', async (t) => {
    const dev = await device(t, [1, 2]);
    const client = await tcpClient(t, dev.port, 500);

    await dev.mute(2, true);
    client.setID(2);
    await assert.rejects(client.readCoils(0, 1), (err: Error & { name?: string; errno?: string }) => {
      assert.match(`${err.name} ${err.message} ${err.errno}`, /timed out|ETIMEDOUT/i);
      return true;
    });
    client.setID(1);
    assert.deepEqual((await client.readCoils(0, 1)).data.slice(0, 1), [false]);

    await dev.mute(2, false);
    client.setID(2);
    await client.writeCoil(0, true);
    await dev.waitForWrite((w) => w.unit === 2 && w.address === 0);
  });

  it('kill makes the device vanish and restart brings it back on the same port, fresh', async (t) => {
    const dev = await device(t, [1]);
    const port = dev.port;
    const first = await tcpClient(t, port);
    first.setID(1);
    await first.writeCoil(1, true);
    await dev.waitForWrite((w) => w.address === 1);

    await dev.kill();
    await assert.rejects(first.readCoils(0, 1));

    await dev.restart();
    assert.equal(dev.port, port);
    const second = await tcpClient(t, port);
    second.setID(1);
    assert.deepEqual((await second.readCoils(1, 1)).data.slice(0, 1), [false], 'fresh datastore');
    await second.writeCoil(2, true);
    await dev.waitForWrite((w) => w.address === 2);
    assert.deepEqual(
      dev.writes.map((w) => w.address),
      [1, 2],
      'write history survives the restart',
    );
  });

  it('rejects with the python error when the device cannot listen', async (t) => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const port = (blocker.address() as { port: number }).port;
    await assert.rejects(startModbusDevice({ port }), /exited before listening[\s\S]*address already in use/i);
  });
});

describe('modbus device (pymodbus RTU over a socat pty pair)', () => {
  it('answers a modbus-serial RTU client and reports its write', async (t) => {
    const pair = await startPtyPair();
    t.after(() => pair.dispose());
    const [devicePath, clientPath] = [pair.a, pair.b];

    const dev = await startModbusDevice({ units: [1, 3], rtuPath: devicePath, baud: 19200 });
    t.after(() => dev.stop());
    assert.equal(dev.port, 0);

    const client = new ModbusRTU.default();
    await client.connectRTUBuffered(clientPath, { baudRate: 19200 });
    t.after(() => closeClient(client));
    client.setTimeout(2_000);
    client.setID(3);
    await dev.set(3, 'hr', 4, [42]);
    assert.deepEqual((await client.readHoldingRegisters(4, 1)).data, [42]);
    await client.writeCoil(8, true);
    const write = await dev.waitForWrite((w) => w.unit === 3 && w.table === 'co');
    assert.deepEqual([write.address, write.values], [8, [true]]);
  });
});

describe('mosquitto peers', () => {
  it('mosquittoSub and mosquittoPub round-trip binary payloads, retain and qos', async (t) => {
    const b = await broker(t);
    const live = await mosquittoSub({ port: b.port, topics: ['gh/#'] });
    t.after(() => live.stop());
    assert.deepEqual(live.granted, [2]);

    const binary = Buffer.from([0, 1, 0xff, 0x0a, 0x20]);
    assert.equal((await mosquittoPub({ port: b.port, topic: 'gh/a b', message: binary, qos: 1 })).code, 0);
    const got = await live.waitFor((m) => m.topic === 'gh/a b');
    assert.deepEqual(got.payload, binary);
    assert.equal(got.qos, 1);
    assert.equal(got.retain, false);

    const pub = await mosquittoPub({ port: b.port, topic: 'gh/state', message: 'on', qos: 1, retain: true });
    assert.deepEqual(pub, { code: 0, stderr: '' });
    // MQTT 3.1.1 section 3.3.1.3: a live delivery carries retain 0, a late subscriber gets retain 1.
    assert.equal((await live.waitFor((m) => m.topic === 'gh/state')).retain, false);
    const late = await mosquittoSub({ port: b.port, topics: ['gh/state'], clientId: 'late-sub' });
    t.after(() => late.stop());
    const retained = await late.waitFor((m) => m.topic === 'gh/state');
    assert.deepEqual([retained.text, retained.retain, retained.qos], ['on', true, 1]);

    await mosquittoPub({ port: b.port, topic: 'gh/q2', message: 'two', qos: 2 });
    assert.equal((await live.waitFor((m) => m.topic === 'gh/q2')).qos, 2);
    await mosquittoPub({ port: b.port, topic: 'gh/empty', message: '' });
    assert.equal((await live.waitFor((m) => m.topic === 'gh/empty')).payload.length, 0);
  });

  it('a subscriber that cannot connect reports its exit code and stderr', async () => {
    const port = await freePort();
    const sub = await mosquittoSub({ port, topics: ['x'] });
    assert.notEqual(sub.exitCode, null);
    assert.notEqual(sub.exitCode, 0);
    assert.match(sub.stderr, /refused|error/i);
    const pub = await mosquittoPub({ port, topic: 'x', message: 'y' });
    assert.notEqual(pub.code, 0);
  });

  it('broker kill and restart keep the same port', async (t) => {
    const b = await broker(t);
    const port = b.port;
    await b.kill();
    assert.notEqual((await mosquittoPub({ port, topic: 'x', message: 'y' })).code, 0);
    await b.restart();
    assert.equal(b.port, port);
    await b.restart();
    const sub = await mosquittoSub({ port, topics: ['after/restart'] });
    t.after(() => sub.stop());
    assert.equal((await mosquittoPub({ port, topic: 'after/restart', message: 'ok' })).code, 0);
    assert.equal((await sub.waitFor((m) => m.topic === 'after/restart')).text, 'ok');
  });
});

describe('MQTT.js client helper', () => {
  it('connects, collects QoS 1 messages and publishes to mosquitto_sub', async (t) => {
    const b = await broker(t);
    const client = await connectClient({ port: b.port, clientId: 'helper-test' });
    t.after(() => client.endAsync(true));
    assert.equal(client.options.protocolVersion, 4);

    const inbox = await subscribeCollect(client, 'in/+', 1);
    await mosquittoPub({ port: b.port, topic: 'in/one', message: 'hello', qos: 1 });
    await mosquittoPub({ port: b.port, topic: 'other/one', message: 'ignored', qos: 1 });
    const got = await inbox.waitFor((m) => m.topic === 'in/one');
    assert.deepEqual([got.payload.toString(), got.qos, got.retain], ['hello', 1, false]);

    const sub = await mosquittoSub({ port: b.port, topics: ['out/#'] });
    t.after(() => sub.stop());
    await client.publishAsync('out/x', 'from-mqttjs', { qos: 1, retain: true });
    const out = await sub.waitFor((m) => m.topic === 'out/x');
    assert.deepEqual([out.text, out.qos], ['from-mqttjs', 1]);

    const again = collect(client, 'in/#');
    t.after(() => again.dispose());
    assert.deepEqual(again.messages, [], 'a collector only sees messages after it starts');
  });

  it('rejects when nothing listens', async () => {
    const port = await freePort();
    await assert.rejects(connectClient({ port }), /ECONNREFUSED|closed before CONNACK/);
  });

  it('topicMatches follows MQTT 3.1.1 section 4.7', () => {
    assert.equal(topicMatches('a/+/c', 'a/b/c'), true);
    assert.equal(topicMatches('a/#', 'a'), true);
    assert.equal(topicMatches('a/+', 'a/b/c'), false);
    assert.equal(topicMatches('#', '$SYS/x'), false);
  });
});
