// One MQTT.js client (TCP_NODELAY on, via connectClient) that sends gate commands to several gates
// and times each round trip: publish at QoS 1 with a unique id, until the result with that id arrives.
import { performance } from 'node:perf_hooks';
import { topics } from '../../src/topics.js';
import { connectClient, type MqttClient } from '../support/mqtt-client.js';

const REPLY_TIMEOUT_MS = 10_000;

export interface CommandReply {
  ms: number;
  body: { status?: string; code?: string; [key: string]: unknown };
}

interface Pending {
  startedAt: number;
  resolve(reply: CommandReply): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class RtuCommandClient {
  private client: MqttClient | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly resultTopics: Set<string>;

  constructor(
    private readonly opts: { port: number; username: string; password: string; site: string; gates: readonly string[] },
  ) {
    this.resultTopics = new Set(opts.gates.map((g) => topics.result(opts.site, 'gate', g)));
  }

  async start(): Promise<void> {
    const client = await connectClient({ port: this.opts.port, username: this.opts.username, password: this.opts.password });
    this.client = client;
    client.on('message', (topic, payload) => {
      if (this.resultTopics.has(topic)) this.onResult(payload);
    });
    const granted = await client.subscribeAsync([...this.resultTopics], { qos: 1 });
    if (granted.some((g) => g.qos === 128)) throw new Error('a result subscription was refused');
  }

  /** Publishes `{id, ...args}` to the gate's `command` topic at QoS 1; resolves with the matching result. */
  send(gate: string, command: string, id: string, args: Record<string, unknown>): Promise<CommandReply> {
    const client = this.client;
    if (!client) return Promise.reject(new Error('RtuCommandClient not started'));
    return new Promise<CommandReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no result for ${id} (${gate} ${command}) within ${REPLY_TIMEOUT_MS} ms`));
      }, REPLY_TIMEOUT_MS);
      this.pending.set(id, { startedAt: performance.now(), resolve, reject, timer });
      client.publish(topics.command(this.opts.site, 'gate', gate, command), JSON.stringify({ id, ...args }), { qos: 1 }, (err) => {
        const entry = err ? this.pending.get(id) : undefined;
        if (!entry) return;
        this.pending.delete(id);
        clearTimeout(entry.timer);
        entry.reject(err!);
      });
    });
  }

  async stop(): Promise<void> {
    for (const [id, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(new Error(`client stopped before the result for ${id}`));
    }
    this.pending.clear();
    await this.client?.endAsync(true).catch(() => undefined);
    this.client = undefined;
  }

  private onResult(payload: Buffer): void {
    const arrivedAt = performance.now();
    let body: CommandReply['body'];
    try {
      body = JSON.parse(payload.toString('utf8')) as CommandReply['body'];
    } catch {
      return;
    }
    const id = typeof body.id === 'string' ? body.id : undefined;
    const entry = id === undefined ? undefined : this.pending.get(id);
    if (entry === undefined || id === undefined) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    entry.resolve({ ms: arrivedAt - entry.startedAt, body });
  }
}
