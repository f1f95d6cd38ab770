// Every message the gateway itself publishes goes through here: to the cloud outbox (when the
// uplink is on), and once that row is committed, to the local broker at QoS 1. Before the broker listens, publishes are held in
// an explicit start-up queue (safe states and first polls report before anyone can hear them) and
// released, in order, by open(); after close() they are dropped: nobody is listening any more.
import type { Broker } from '../broker/broker.js';
import type { Logger } from '../log.js';
import type { Uplink } from '../uplink/uplink.js';

interface Held {
  topic: string;
  payload: string | Buffer;
  retain: boolean;
}

export class Outlet {
  private phase: 'holding' | 'open' | 'closed' = 'holding';
  private readonly held: Held[] = [];
  private broker: Broker | undefined;
  private droppedAfterClose = 0;

  constructor(
    private readonly uplink: Uplink | undefined,
    private readonly log: Logger,
  ) {}

  /** Resolves once the broker has taken the message (never rejects: a failure is logged). */
  async publish(topic: string, payload: string | Buffer, retain: boolean): Promise<void> {
    if (this.phase === 'holding') {
      this.held.push({ topic, payload, retain });
      return;
    }
    if (this.phase === 'closed' || !this.broker) {
      if (this.droppedAfterClose++ === 0) this.log.debug({ topic }, 'publish after the broker stopped: dropped (and any more)');
      return;
    }
    // What a local subscriber hears, the cloud hears too: the outbox row is committed first.
    await this.uplink?.send(topic, payload, retain);
    try {
      await this.broker.publish(topic, payload, { qos: 1, retain });
    } catch (err) {
      this.log.error({ err, topic }, 'publish failed');
    }
  }

  /** The broker listens: what was held while starting goes out now, in order. */
  async open(broker: Broker): Promise<void> {
    this.broker = broker;
    this.phase = 'open';
    const held = this.held.splice(0);
    if (held.length > 0) this.log.debug({ count: held.length }, 'publishing what devices reported before the broker listened');
    for (const message of held) await this.publish(message.topic, message.payload, message.retain);
  }

  /** The last local publish before the broker stops (the gateway's `offline`). */
  async lastWord(topic: string, payload: string, retain: boolean): Promise<void> {
    await this.broker?.publish(topic, payload, { qos: 1, retain }).catch(() => undefined);
    this.phase = 'closed';
  }
}
