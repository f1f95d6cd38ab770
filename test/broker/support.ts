// Helpers for the broker tests: a broker with recording hooks, a raw MQTT 3.1.1 socket client that
// writes exact bytes, MQTT.js clients with TCP_NODELAY, and mosquitto_pub/sub runs.
import { Aedes } from 'aedes';
import { spawn } from 'node:child_process';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pino, { type Logger } from 'pino';
import { Broker, type BrokerOptions, type IncomingCommand, type SecurityEvent } from '../../src/broker/broker.js';
import { hashPassword } from '../../src/broker/password.js';
import { classifyTopic } from '../../src/topics.js';

export const SITE = 'hq';
export const WAIT_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Broker under test

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export function captureLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

let usersPromise: Promise<BrokerOptions['users']> | null = null;

/** operator: all of the site; viewer: subscribe only; device: %u / %c pattern rules. */
export function testUsers(): Promise<BrokerOptions['users']> {
  usersPromise ??= (async () => [
    { username: 'operator', password_hash: await hashPassword('op-secret'), publish: [`site/${SITE}/#`, 'chat/#'], subscribe: [`site/${SITE}/#`, 'chat/#'] },
    { username: 'viewer', password_hash: await hashPassword('view-secret'), publish: [], subscribe: [`site/${SITE}/#`] },
    { username: 'spy', password_hash: await hashPassword('spy-secret'), publish: ['#'], subscribe: ['#'] },
    { username: 'device', password_hash: await hashPassword('dev-secret'), publish: ['clients/%u/#', 'ids/%c'], subscribe: ['clients/%u/#'] },
  ])();
  return usersPromise;
}

export interface BrokerUnderTest {
  broker: Broker;
  port: number;
  commands: IncomingCommand[];
  events: SecurityEvent[];
  lines: LogLine[];
}

export async function startBroker(t: TestContext, overrides: Partial<BrokerOptions> = {}): Promise<BrokerUnderTest> {
  const { log, lines } = captureLogger();
  const commands: IncomingCommand[] = [];
  const events: SecurityEvent[] = [];
  const broker = new Broker(
    {
      host: '127.0.0.1',
      port: 0,
      anonymous: { enabled: false, publish: [], subscribe: [] },
      users: await testUsers(),
      ...overrides,
    },
    {
      classify: (topic) => classifyTopic(SITE, topic),
      onCommand: (cmd) => void commands.push(cmd),
      onSecurityEvent: (e) => void events.push(e),
    },
    log,
  );
  t.after(() => broker.stop());
  await broker.start();
  return { broker, port: broker.port, commands, events, lines };
}

/** A bare aedes 1.2.0 with default options on a TCP port: shows what aedes does without gatehouse's guards. */
export async function startBareAedes(t: TestContext): Promise<number> {
  return (await startBareAedesInstance(t)).port;
}

export async function startBareAedesInstance(t: TestContext): Promise<{ aedes: Aedes; port: number }> {
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  t.after(async () => {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('bare aedes: no port');
  return { aedes, port: address.port };
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false | null, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---------------------------------------------------------------------------------------------
// Raw MQTT 3.1.1 bytes (section 2 and 3 of the spec)

export const PACKET = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
} as const;

export function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

export function str(s: string | Buffer): Buffer {
  const body = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([len, body]);
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function frame(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), remainingLength(body.length), body]);
}

export interface ConnectFields {
  clientId?: string;
  username?: string;
  password?: string | Buffer;
  will?: { topic: string; payload: string; qos?: number; retain?: boolean };
  clean?: boolean;
  keepalive?: number;
  protocolName?: string;
  protocolLevel?: number;
  /** Overrides the computed connect flags byte. */
  flags?: number;
}

export function connectPacket(f: ConnectFields = {}): Buffer {
  let flags = 0;
  if (f.clean ?? true) flags |= 0x02;
  if (f.will) flags |= 0x04 | ((f.will.qos ?? 0) << 3) | (f.will.retain ? 0x20 : 0);
  if (f.password !== undefined) flags |= 0x40;
  if (f.username !== undefined) flags |= 0x80;
  const parts = [str(f.protocolName ?? 'MQTT'), Buffer.from([f.protocolLevel ?? 4, f.flags ?? flags]), u16(f.keepalive ?? 0), str(f.clientId ?? '')];
  if (f.will) parts.push(str(f.will.topic), str(f.will.payload));
  if (f.username !== undefined) parts.push(str(f.username));
  if (f.password !== undefined) parts.push(str(f.password));
  return frame(0x10, Buffer.concat(parts));
}

export function publishPacket(p: { topic: string; payload?: string | Buffer; qos?: 0 | 1 | 2 | 3; retain?: boolean; dup?: boolean; messageId?: number }): Buffer {
  const qos = p.qos ?? 0;
  const first = 0x30 | (p.dup ? 0x08 : 0) | (qos << 1) | (p.retain ? 0x01 : 0);
  const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : (p.payload ?? Buffer.alloc(0));
  const parts = [str(p.topic)];
  if (qos > 0) parts.push(u16(p.messageId ?? 1));
  parts.push(payload);
  return frame(first, Buffer.concat(parts));
}

export function subscribePacket(messageId: number, subs: { filter: string | Buffer; qos: number }[], firstByte = 0x82): Buffer {
  const parts = [u16(messageId)];
  for (const s of subs) parts.push(str(s.filter), Buffer.from([s.qos]));
  return frame(firstByte, Buffer.concat(parts));
}

export const pubrelPacket = (messageId: number): Buffer => frame(0x62, u16(messageId));
export const pingreqPacket = (): Buffer => Buffer.from([0xc0, 0x00]);
export const disconnectPacket = (): Buffer => Buffer.from([0xe0, 0x00]);

export interface Frame {
  type: number;
  flags: number;
  body: Buffer;
}

/** A TCP client that writes raw bytes and splits what comes back into MQTT frames. */
export class RawClient {
  readonly frames: Frame[] = [];
  /** Sees every frame first; returning true keeps it out of `frames`. */
  frameHook: ((frame: Frame) => boolean) | null = null;
  private buffer = Buffer.alloc(0);
  private closedFlag = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedFlag = true;
        resolve();
      }),
    );
  }

  static open(t: TestContext, port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port });
      const client = new RawClient(socket);
      t.after(() => socket.destroy());
      const timer = setTimeout(() => reject(new Error('raw connect timed out')), WAIT_MS);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(client);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Opens a socket, sends CONNECT and waits for CONNACK; fails unless the return code is 0. */
  static async connected(t: TestContext, port: number, fields: ConnectFields = {}): Promise<RawClient> {
    const client = await RawClient.open(t, port);
    client.send(connectPacket(fields));
    const connack = await client.next(PACKET.CONNACK);
    if (connack.body[1] !== 0) throw new Error(`CONNACK return code ${connack.body[1]}`);
    return client;
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 2) return;
      let multiplier = 1;
      let length = 0;
      let i = 1;
      let byte: number;
      do {
        if (i >= this.buffer.length) return;
        byte = this.buffer[i++];
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
      } while (byte & 0x80);
      if (this.buffer.length < i + length) return;
      const first = this.buffer[0];
      const received: Frame = { type: first >> 4, flags: first & 0x0f, body: this.buffer.subarray(i, i + length) };
      if (!this.frameHook?.(received)) this.frames.push(received);
      this.buffer = this.buffer.subarray(i + length);
    }
  }

  /** Removes and returns the first received frame of `type`, waiting for it. */
  async next(type: number, timeoutMs = WAIT_MS): Promise<Frame> {
    return waitFor(`packet type ${type}`, () => {
      const index = this.frames.findIndex((f) => f.type === type);
      if (index >= 0) return this.frames.splice(index, 1)[0];
      if (this.closedFlag) throw new Error(`connection closed while waiting for packet type ${type}`);
      return undefined;
    }, timeoutMs);
  }

  /** True when the server closed the connection within the timeout. */
  async closesWithin(timeoutMs = WAIT_MS): Promise<boolean> {
    const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref());
    return Promise.race([this.closed.then(() => true), timeout]);
  }

  /** PINGREQ -> PINGRESP round trip: proves the connection is open and the server is processing it. */
  async ping(): Promise<void> {
    this.send(pingreqPacket());
    await this.next(PACKET.PINGRESP);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// MQTT.js

export async function mqttClient(t: TestContext, port: number, opts: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect({
    host: '127.0.0.1',
    port,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: WAIT_MS,
    ...opts,
  });
  t.after(() => new Promise<void>((resolve) => client.end(true, {}, () => resolve())));
  // Commands are small packets: the same TCP_NODELAY the broker sets on its side.
  client.on('connect', () => (client.stream as Socket).setNoDelay?.(true));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('MQTT.js connect timed out')), WAIT_MS);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    client.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return client;
}

// ---------------------------------------------------------------------------------------------
// mosquitto_pub / mosquitto_sub

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runTool(path: string, args: string[], timeoutMs = WAIT_MS): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path} ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function unsubscribePacket(messageId: number, filters: (string | Buffer)[]): Buffer {
  return frame(0xa2, Buffer.concat([u16(messageId), ...filters.map((f) => str(f))]));
}

export interface ReceivedPublish {
  topic: string;
  qos: number;
  dup: boolean;
  retain: boolean;
  messageId?: number;
  payload: Buffer;
}

export function parsePublish(f: Frame): ReceivedPublish {
  const qos = (f.flags >> 1) & 0x03;
  const topicLength = f.body.readUInt16BE(0);
  const topic = f.body.subarray(2, 2 + topicLength).toString('utf8');
  let pos = 2 + topicLength;
  let messageId: number | undefined;
  if (qos > 0) {
    messageId = f.body.readUInt16BE(pos);
    pos += 2;
  }
  return { topic, qos, dup: (f.flags & 0x08) !== 0, retain: (f.flags & 0x01) !== 0, messageId, payload: f.body.subarray(pos) };
}

export const pubackPacket = (messageId: number): Buffer => frame(0x40, u16(messageId));
export const pubrecPacket = (messageId: number): Buffer => frame(0x50, u16(messageId));
export const pubcompPacket = (messageId: number): Buffer => frame(0x70, u16(messageId));
