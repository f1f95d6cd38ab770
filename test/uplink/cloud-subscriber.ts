// A consumer at the cloud: an MQTT.js client with a persistent session (clean=false, QoS 1), so
// messages published while it is away (mosquitto restarting) are queued for it and arrive later.
// With `protocol: 5` it speaks MQTT 5 and keeps each message's properties.
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';

const DEFAULT_WAIT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;

export interface Received {
  topic: string;
  text: string;
  retain: boolean;
  dup: boolean;
  /** MQTT 5 properties of the PUBLISH (user properties, correlation data ...). */
  properties?: IPublishPacket['properties'];
}

export interface CloudSubscriber {
  client: MqttClient;
  messages: Received[];
  on(topic: string): Received[];
  waitFor(what: string, pred: (messages: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface SubscriberOptions {
  url: string;
  filters: string[];
  clientId: string;
  /** false: a persistent session (default); true: a clean one. */
  clean?: boolean;
  tls?: { ca: Buffer; cert: Buffer; key: Buffer };
  username?: string;
  password?: string;
  /** MQTT 3.1.1 (4, default) or 5. */
  protocol?: 4 | 5;
}

export async function cloudSubscriber(opts: SubscriberOptions): Promise<CloudSubscriber> {
  const options: IClientOptions = {
    protocolVersion: opts.protocol ?? 4,
    clientId: opts.clientId,
    clean: opts.clean ?? false,
    // A persistent MQTT 5 session must say how long it outlives the connection (MQTT 5 section 3.1.2.11.2).
    ...(opts.protocol === 5 && !(opts.clean ?? false) ? { properties: { sessionExpiryInterval: 3600 } } : {}),
    reconnectPeriod: 100,
    connectTimeout: CONNECT_TIMEOUT_MS,
    ...(opts.tls ? { ca: opts.tls.ca, cert: opts.tls.cert, key: opts.tls.key } : {}),
    ...(opts.username ? { username: opts.username, password: opts.password } : {}),
  };
  const client = mqtt.connect(opts.url, options);
  const messages: Received[] = [];
  const waiters = new Set<() => void>();
  client.on('error', () => undefined);
  client.once('connect', () => {
    // MQTT.js turns Nagle's algorithm on; the replies of a test must not wait for it.
    (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  });
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, text: payload.toString('utf8'), retain: packet.retain, dup: packet.dup, ...(packet.properties ? { properties: packet.properties } : {}) });
    for (const wake of [...waiters]) wake();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cloud subscriber could not connect to ${opts.url}`)), CONNECT_TIMEOUT_MS);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const granted = await client.subscribeAsync(Object.fromEntries(opts.filters.map((f) => [f, { qos: 1 as const }])));
  if (granted.some((g) => g.qos === 128)) throw new Error(`subscription refused: ${JSON.stringify(granted)}`);
  return {
    client,
    messages,
    on: (topic) => messages.filter((m) => m.topic === topic),
    waitFor(what, pred, timeoutMs = DEFAULT_WAIT_MS) {
      if (pred(messages)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const wake = () => {
          if (!pred(messages)) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          const recent = messages.slice(-8).map((m) => `${m.topic} ${m.retain ? 'r ' : ''}${m.text.slice(0, 120)}`);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${messages.length} messages, last:\n  ${recent.join('\n  ')}`));
        }, timeoutMs);
        waiters.add(wake);
      });
    },
    async close() {
      await client.endAsync(true);
    },
  };
}
