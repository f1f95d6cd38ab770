// A contact input (a door contact, true = open) with its events: {name}_opened and {name}_closed,
// {name}_forced when it opens while secured for longer than the grace, and {name}_held_open once
// per opening that lasts longer than held_open_ms. The first reading sets the state quietly.
import type { Readings } from '../../driver-api.js';
import type { Piece, PieceContext, PieceRuntime } from './piece.js';

type Contact = 'open' | 'closed' | 'unknown';

export interface ContactInputOptions<Parts> {
  /** The input point, the state field and the prefix of the events. */
  name: string;
  /** How long the contact has been secured (e.g. the lock off), or -1 when it is not: an opening then is forced. */
  securedForMs(parts: Parts): number;
}

export class ContactInput<Parts = never> implements PieceRuntime {
  private contact: Contact = 'unknown';
  private heldTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: PieceContext,
    private readonly opts: ContactInputOptions<Parts>,
    private readonly parts: Parts,
  ) {}

  observe(readings: Readings): void {
    const reading = readings[this.opts.name];
    if (typeof reading === 'boolean') this.set(reading ? 'open' : 'closed');
  }

  private set(next: Contact): void {
    const previous = this.contact;
    if (next === previous) return;
    this.contact = next;
    const { name } = this.opts;
    const settings = this.ctx.settings as { held_open_ms: number; relock_grace_ms: number };
    this.ctx.touch();
    if (previous !== 'unknown') {
      const forced = next === 'open' && this.opts.securedForMs(this.parts) > settings.relock_grace_ms;
      this.ctx.sink.event(`${name}_${forced ? 'forced' : next === 'open' ? 'opened' : 'closed'}`);
    }
    clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    if (next === 'open' && !this.ctx.lane.stopped) {
      const openedAt = Date.now();
      this.heldTimer = setTimeout(() => {
        this.heldTimer = undefined;
        if (this.contact === 'open') this.ctx.sink.event(`${name}_held_open`, { open_ms: Date.now() - openedAt });
      }, settings.held_open_ms);
    }
  }

  state(): Record<string, unknown> {
    return { [this.opts.name]: this.contact };
  }

  async stop(): Promise<void> {
    clearTimeout(this.heldTimer);
  }
}

export function contactInput<Parts = never>(opts: ContactInputOptions<Parts>): Piece<ContactInput<Parts>, Parts> {
  const { name } = opts;
  return {
    inputs: { optional: [name] },
    settings: {
      held_open_ms: { type: 'int', min: 1000, max: 86_400_000, default: 30_000 },
      relock_grace_ms: { type: 'int', min: 0, max: 60_000, default: 1500 },
    },
    events: {
      [`${name}_opened`]: { doc: `The ${name} opened while released (or within relock_grace_ms of securing).` },
      [`${name}_closed`]: { doc: `The ${name} closed.` },
      [`${name}_forced`]: { doc: `The ${name} opened while secured: forced.`, security: true },
      [`${name}_held_open`]: { doc: `The ${name} stayed open longer than held_open_ms; {open_ms}. Once per opening.`, security: true },
    },
    state: { [name]: `"open", "closed", or "unknown" until the ${name} contact is first read.` },
    create: (ctx, parts) => new ContactInput(ctx, opts, parts),
  };
}
