// MQTT.js clients for tests, tuned for prompt QoS 1/2 flows on loopback.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Socket } from 'node:net';

const CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_WAIT_MS = 5_000;

export type { MqttClient };

export interface ConnectOptions {
  port: number;
  username?: string;
  password?: string;
  clientId?: string;
  /** Clean session (MQTT 3.1.1 section 3.1.2.4); default true. */
  clean?: boolean;
  will?: IClientOptions['will'];
  /** Keep alive in seconds; MQTT.js default when absent. */
  keepalive?: number;
}

function disableNagle(client: MqttClient): void {
  const socket = client.stream as unknown as Partial<Socket> | undefined;
  if (typeof socket?.setNoDelay === 'function') socket.setNoDelay(true);
}

/**
 * Connects an MQTT 3.1.1 client to 127.0.0.1 with reconnect off. Rejects on a refused CONNACK,
 * a socket error, close before CONNACK, or timeout (the client is ended in every such case).
 */
export function connectClient(opts: ConnectOptions): Promise<MqttClient> {
  const client = mqtt.connect({
    host: '127.0.0.1',
    port: opts.port,
    protocol: 'mqtt',
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    clean: opts.clean ?? true,
    ...(opts.username !== undefined ? { username: opts.username } : {}),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    ...(opts.clientId !== undefined ? { clientId: opts.clientId } : {}),
    ...(opts.will !== undefined ? { will: opts.will } : {}),
    ...(opts.keepalive !== undefined ? { keepalive: opts.keepalive } : {}),
  });
  // MQTT.js leaves Nagle on, so a QoS 1 PUBACK can sit ~40 ms behind a delayed ACK. The stream
  // exists as soon as connect() returns; setting it again on 'connect' covers a rebuilt stream.
  disableNagle(client);
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      cleanup();
      client.end(true);
      reject(err);
    };
    const onConnect = () => {
      disableNagle(client);
      cleanup();
      resolve(client);
    };
    const onError = (err: Error) => fail(err);
    const onClose = () => fail(new Error(`MQTT connection to 127.0.0.1:${opts.port} closed before CONNACK`));
    const timer = setTimeout(
      () => fail(new Error(`no CONNACK from 127.0.0.1:${opts.port} within ${CONNECT_TIMEOUT_MS} ms`)),
      CONNECT_TIMEOUT_MS,
    );
    const cleanup = () => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
    };
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}

/** MQTT 3.1.1 section 4.7: does `topic` match `filter` ('+' one level, '#' the rest)? */
export function topicMatches(filter: string, topic: string): boolean {
  // Section 4.7.2: wildcards at the first level do not match topics starting with '$'.
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

export interface CollectedMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
  qos: number;
}

export interface Collector {
  /** Every matching message received since collect() was called, in order. */
  messages: CollectedMessage[];
  /** Resolves with the first matching message, past or future. */
  waitFor(pred: (m: CollectedMessage) => boolean, timeoutMs?: number): Promise<CollectedMessage>;
  /** Stops listening. */
  dispose(): void;
}

/**
 * Records the client's incoming messages whose topic matches `filter`. It only listens; subscribe
 * separately, or use subscribeCollect().
 */
export function collect(client: MqttClient, filter: string): Collector {
  const messages: CollectedMessage[] = [];
  const waiters = new Set<{ pred(m: CollectedMessage): boolean; resolve(m: CollectedMessage): void }>();
  const onMessage = (topic: string, payload: Buffer, packet: { retain?: boolean; qos?: number }) => {
    if (!topicMatches(filter, topic)) return;
    const message: CollectedMessage = { topic, payload, retain: Boolean(packet.retain), qos: packet.qos ?? 0 };
    messages.push(message);
    for (const waiter of [...waiters]) if (waiter.pred(message)) waiter.resolve(message);
  };
  client.on('message', onMessage);
  return {
    messages,
    waitFor(pred, timeoutMs = DEFAULT_WAIT_MS) {
      const seen = messages.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          pred,
          resolve: (m: CollectedMessage) => {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const recent = messages.slice(-10).map((m) => `${m.topic} r${Number(m.retain)} q${m.qos} ${m.payload}`);
          reject(
            new Error(
              `no matching message on ${filter} within ${timeoutMs} ms; last messages:\n  ${recent.join('\n  ') || '(none)'}`,
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    dispose() {
      client.off('message', onMessage);
    },
  };
}

/** Starts collecting, then subscribes to `filter` and awaits the SUBACK. */
export async function subscribeCollect(client: MqttClient, filter: string, qos: 0 | 1 | 2 = 1): Promise<Collector> {
  const collector = collect(client, filter);
  const granted = await client.subscribeAsync(filter, { qos });
  if (granted.some((g) => g.qos === 128)) {
    collector.dispose();
    throw new Error(`subscription to ${filter} refused (SUBACK 0x80)`);
  }
  return collector;
}
