// Recent refused logins and lockouts (MQTT and console alike) for the broker view, from the bus's
// 'security' events; bounded rings, the journal keeps the full record.
import type { SecurityEvent } from '../../broker/security-event.js';
import type { EventBus } from '../../event-bus.js';
import type { GatewayEvents } from '../../gateway/events.js';
import { RingBuffer } from '../../metrics/recent-activity.js';

export interface RefusalView {
  at: number;
  address: string;
  user?: string;
  protocol?: string;
  reason: string;
}

const KEPT = 50;

export class SecurityLog {
  private readonly refused = new RingBuffer<RefusalView>(KEPT);
  private readonly lockouts = new RingBuffer<RefusalView>(KEPT);
  private off: (() => void) | undefined;

  constructor(private readonly bus: EventBus<GatewayEvents>) {}

  start(): void {
    this.off = this.bus.on('security', 'console', (e: SecurityEvent) => {
      if (e.type !== 'auth_failed' && e.type !== 'lockout') return;
      const view = { at: Date.now(), address: e.peer, ...(e.username !== undefined ? { user: e.username } : {}), ...(e.protocol ? { protocol: e.protocol } : {}), reason: e.reason };
      (e.type === 'lockout' ? this.lockouts : this.refused).push(view);
    });
  }

  stop(): void {
    this.off?.();
  }

  /** Newest first. */
  view(): { refused: RefusalView[]; lockouts: RefusalView[] } {
    return { refused: this.refused.items().reverse(), lockouts: this.lockouts.items().reverse() };
  }
}
