// One MQTT client that publishes a JSON message with a unique id (QoS 1) and times how long until a
// message carrying that id comes back on a reply topic. The gateway command and the echo floor use
// this same code, so the only difference between the two figures is the path through the gateway.
import { performance } from 'node:perf_hooks';
import { connectClient, type MqttClient } from '../support/mqtt-client.js';

const REPLY_TIMEOUT_MS = 10_000;

export interface Reply {
  ms: number;
  /** The reply's JSON: a command result (status, code, timing ...) or the echoed message. */
  body: Record<string, unknown>;
}

interface Pending {
  startedAt: number;
  resolve(reply: Reply): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class RoundTripClient {
  private client: MqttClient | undefined;
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly opts: { port: number; username: string; password: string; publishTopic: string; replyTopic: string },
  ) {}

  async start(): Promise<void> {
    // connectClient sets TCP_NODELAY on the socket (MQTT.js leaves Nagle on).
    const client = await connectClient({ port: this.opts.port, username: this.opts.username, password: this.opts.password });
    this.client = client;
    client.on('message', (topic, payload) => {
      if (topic === this.opts.replyTopic) this.onReply(payload);
    });
    const granted = await client.subscribeAsync(this.opts.replyTopic, { qos: 1 });
    if (granted.some((g) => g.qos === 128)) throw new Error(`subscription to ${this.opts.replyTopic} refused`);
  }

  /** Publishes `{id, ...extra}` at QoS 1 and resolves when the reply with the same id arrives. */
  send(id: string, extra: Record<string, unknown>): Promise<Reply> {
    const client = this.client;
    if (!client) return Promise.reject(new Error('RoundTripClient not started'));
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no reply for ${id} on ${this.opts.replyTopic} within ${REPLY_TIMEOUT_MS} ms`));
      }, REPLY_TIMEOUT_MS);
      const startedAt = performance.now();
      this.pending.set(id, { startedAt, resolve, reject, timer });
      client.publish(this.opts.publishTopic, JSON.stringify({ id, ...extra }), { qos: 1 }, (err) => {
        if (!err) return;
        const entry = this.pending.get(id);
        if (!entry) return;
        this.pending.delete(id);
        clearTimeout(entry.timer);
        entry.reject(err);
      });
    });
  }

  async stop(): Promise<void> {
    for (const [id, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(new Error(`client stopped before the reply for ${id}`));
    }
    this.pending.clear();
    await this.client?.endAsync(true).catch(() => undefined);
    this.client = undefined;
  }

  private onReply(payload: Buffer): void {
    const arrivedAt = performance.now();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    } catch {
      return;
    }
    const id = typeof body.id === 'string' ? body.id : undefined;
    const entry = id === undefined ? undefined : this.pending.get(id);
    if (!entry || id === undefined) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    entry.resolve({ ms: arrivedAt - entry.startedAt, body });
  }
}
