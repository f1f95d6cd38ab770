// A command without `id` gets one from the gateway. If its QoS 1 PUBLISH is retransmitted with
// DUP=1 (MQTT-3.3.1-1, e.g. after a reconnect), the retransmission must map to the same id, or the
// door would open twice. The packet identifier is only unique while the message is in flight
// (MQTT-2.3.1-3), so the mapping is short-lived.

const REMEMBER_MS = 120_000;
const MAX_ENTRIES = 10_000;

export interface Delivery {
  clientId: string;
  messageId: number;
  dup: boolean;
}

export class DeliveryIds {
  private readonly ids = new Map<string, { id: string; at: number }>();

  /** The id given to an earlier copy of this delivery, or undefined (then `remember` the new one). */
  idFor(delivery: Delivery | undefined, now = Date.now()): string | undefined {
    if (!delivery) return undefined;
    const key = `${delivery.clientId}\u0000${delivery.messageId}`;
    const known = this.ids.get(key);
    if (delivery.dup && known && now - known.at < REMEMBER_MS) return known.id;
    return undefined;
  }

  remember(delivery: Delivery | undefined, id: string, now = Date.now()): void {
    if (!delivery) return;
    const key = `${delivery.clientId}\u0000${delivery.messageId}`;
    this.ids.delete(key);
    this.ids.set(key, { id, at: now });
    if (this.ids.size > MAX_ENTRIES) this.ids.delete(this.ids.keys().next().value as string);
  }
}
