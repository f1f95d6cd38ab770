// The cloud side of the fleet bench: the fleet monitor (every site's births, from the gateway
// state each connection starts with, and a tally of what each site sends), the back end's consumer
// group (shared subscriptions where the broker has them) counting every site's ticks, results and
// events, and a commander that sends each site's gate a `lock` now and then.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { RESERVED_LEAVES } from '../../src/topics.js';
import { GATE_ID, tickTopic } from './fleet-config.js';

const CONNECT_TIMEOUT_MS = 15_000;

export interface Login {
  username?: string;
  password?: string;
}

async function connect(url: string, clientId: string, login: Login, extra: Partial<IClientOptions> = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, {
    clientId,
    clean: false,
    reconnectPeriod: 20,
    connectTimeout: CONNECT_TIMEOUT_MS,
    ...(login.username ? { username: login.username, password: login.password } : {}),
    ...extra,
  });
  client.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${clientId} could not connect to ${url}`)), CONNECT_TIMEOUT_MS);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return client;
}

function siteOf(topic: string): string {
  return topic.split('/')[1] ?? '';
}

export interface Birth {
  at: number;
  node: string | null;
}

/** Every site's births (the gateway state of a connection's birth) and a tally of its traffic. */
export class FleetMonitor {
  /** site -> connection number -> first arrival of that connection's birth. */
  readonly births = new Map<string, Map<number, Birth>>();
  /** site -> newest outbox depth reported in its gateway state. */
  readonly outboxDepth = new Map<string, number>();
  tallying = false;
  /** What the sites sent while tallying, the bench's ticks left out: messages and bytes (topic + payload) per leaf. */
  readonly tally = new Map<string, { messages: number; bytes: number }>();
  private constructor(readonly client: MqttClient) {}

  static async start(url: string, login: Login, id: string): Promise<FleetMonitor> {
    const client = await connect(url, id, login);
    const monitor = new FleetMonitor(client);
    client.on('message', (topic, payload) => monitor.onMessage(topic, payload));
    await client.subscribeAsync({ 'site/#': { qos: 1 } });
    return monitor;
  }

  private onMessage(topic: string, payload: Buffer): void {
    const site = siteOf(topic);
    const levels = topic.split('/');
    // What the gateway publishes: its own topics and the devices' reserved leaves (not the cloud's commands).
    const reserved = (RESERVED_LEAVES as readonly string[]).includes(levels[4] ?? '');
    const leaf = !reserved ? undefined : levels[2] === 'gateway' ? `gateway/${levels[4]}` : levels[4];
    if (this.tallying && leaf !== undefined) {
      const entry = this.tally.get(leaf) ?? { messages: 0, bytes: 0 };
      entry.messages++;
      entry.bytes += Buffer.byteLength(topic) + payload.length;
      this.tally.set(leaf, entry);
    }
    if (levels[2] !== 'gateway' || levels[4] !== 'state') return;
    let state: { uplink?: { state?: string; connection?: number; node?: string | null }; outbox?: { depth?: number } };
    try {
      state = JSON.parse(payload.toString());
    } catch {
      return;
    }
    if (state.outbox?.depth !== undefined) this.outboxDepth.set(site, state.outbox.depth);
    const uplink = state.uplink;
    if (uplink?.state !== 'birth' || uplink.connection === undefined) return;
    const bySite = this.births.get(site) ?? new Map<number, Birth>();
    this.births.set(site, bySite);
    if (!bySite.has(uplink.connection)) bySite.set(uplink.connection, { at: Date.now(), node: uplink.node ?? null });
  }

  /** Sites whose birth of a connection numbered at least `connection` arrived, with its time and node. */
  birthsFrom(connection: number): Map<string, Birth> {
    const found = new Map<string, Birth>();
    for (const [site, bySite] of this.births) {
      const first = [...bySite.entries()].filter(([c]) => c >= connection).sort((a, b) => a[0] - b[0])[0];
      if (first) found.set(site, first[1]);
    }
    return found;
  }

  /** The first birth of `site` on `node` in a connection numbered at least `connection`. */
  birthOn(site: string, node: string, connection: number): Birth | undefined {
    const bySite = this.births.get(site);
    if (!bySite) return undefined;
    return [...bySite.entries()].filter(([c, b]) => c >= connection && b.node === node).sort((x, y) => x[0] - y[0])[0]?.[1];
  }

  /** The node of each site's newest birth. */
  latestNode(site: string): string | null {
    const bySite = this.births.get(site);
    if (!bySite || bySite.size === 0) return null;
    return bySite.get(Math.max(...bySite.keys()))!.node;
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

/** One consumer of the back end's group: counts what it gets per site. */
export class Consumer {
  total = 0;
  results = 0;
  events = 0;
  /** The `id` of every result received. */
  readonly resultIds = new Set<string>();
  /** site -> tick numbers received (a repeat counts in duplicates). */
  readonly ticks = new Map<string, Set<number>>();
  duplicates = 0;
  private constructor(
    readonly name: string,
    readonly client: MqttClient,
  ) {}

  /**
   * `shared`: subscribe with `$share/backend/...` (MQTT 5 on mosquitto), so the group's consumers
   * split the messages; otherwise each consumer gets them all (RabbitMQ 3.10 has no shared subscriptions).
   */
  static async start(name: string, url: string, login: Login, shared: boolean): Promise<Consumer> {
    // Mosquitto 2.0 does not bring shared subscriptions back from its persistence file after a
    // restart (it says the session is present, and delivers nothing): the group's consumers start
    // clean and subscribe on every connection; they are back within tens of milliseconds.
    const client = await connect(url, name, login, shared ? { protocolVersion: 5, clean: true } : {});
    const consumer = new Consumer(name, client);
    client.on('message', (topic, payload) => consumer.onTopic(topic, payload));
    client.on('message', (topic, payload) => consumer.onTick(topic, payload));
    const filters = ['site/+/+/+/result', 'site/+/+/+/event', 'site/+/app/tick'];
    const subscriptions = Object.fromEntries(filters.map((f) => [shared ? `$share/backend/${f}` : f, { qos: 1 as const }]));
    await client.subscribeAsync(subscriptions);
    if (shared) client.on('connect', () => client.subscribe(subscriptions));
    return consumer;
  }

  private onTopic(topic: string, payload: Buffer): void {
    this.total++;
    if (topic.endsWith('/result')) {
      this.results++;
      try {
        this.resultIds.add(String((JSON.parse(payload.toString()) as { id?: unknown }).id));
      } catch {
        // not JSON: counted, no id
      }
    }
    else if (topic.endsWith('/event')) this.events++;
  }

  private onTick(topic: string, payload: Buffer): void {
    if (!topic.endsWith('/app/tick')) return;
    const site = siteOf(topic);
    const seen = this.ticks.get(site) ?? new Set<number>();
    this.ticks.set(site, seen);
    const n = Number(payload.toString());
    if (seen.has(n)) this.duplicates++;
    else seen.add(n);
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

/** The union over a consumer group of the ticks of `site`. */
export function ticksOf(consumers: Consumer[], site: string): Set<number> {
  const all = new Set<number>();
  for (const c of consumers) for (const n of c.ticks.get(site) ?? []) all.add(n);
  return all;
}

/** Sends `lock` to every site's gate, one site after the other, spread over `periodMs`. */
export class Commander {
  sent = 0;
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  private constructor(readonly client: MqttClient) {}

  static async start(url: string, login: Login, id: string): Promise<Commander> {
    return new Commander(await connect(url, id, login, { clean: true }));
  }

  run(sites: string[], periodMs: number): void {
    this.timer = setInterval(() => {
      if (!this.client.connected) return;
      const site = sites[this.next++ % sites.length];
      const now = Date.now();
      this.sent++;
      this.client.publish(`site/${site}/gate/${GATE_ID}/lock`, JSON.stringify({ id: `bench-${this.sent}`, sent_at: now, ttl_ms: 30_000 }), { qos: 1 });
    }, Math.max(1, Math.round(periodMs / sites.length)));
  }

  /** One command, now. */
  send(site: string, command: string, id: string): Promise<unknown> {
    return this.client.publishAsync(`site/${site}/gate/${GATE_ID}/${command}`, JSON.stringify({ id, sent_at: Date.now(), ttl_ms: 30_000 }), { qos: 1 });
  }

  pause(): void {
    clearInterval(this.timer);
  }

  close(): Promise<void> {
    this.pause();
    return this.client.endAsync(true);
  }
}

export { connect as connectCloudClient };
