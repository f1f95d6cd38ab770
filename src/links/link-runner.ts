// Runs links: when a device emits an event a link listens for, the link's commands are submitted
// to the command pipeline one after another, each with source `link`, a generated id and the
// triggering event, so they are validated, queued, journaled and answered like any other command.
// A link is authorized by the config that declares it, not by an ACL.
//
// Order and errors: each step waits for the previous step's terminal result; the first step that
// ends in error ends that run (later steps usually depend on it: a snapshot after a `preset` is
// meant to show the preset's view).
//
// Bounds: each link runs at most once at a time and keeps at most one trigger waiting (the newest;
// an older waiting one is dropped and counted). A link therefore holds at most one place in any
// device's command queue, so a burst of events cannot fill a queue that local and cloud commands
// also need.

import { randomUUID } from 'node:crypto';
import type { CommandInput } from '../commands/pipeline.js';
import type { CommandResult, CommandTrigger } from '../commands/result.js';
import type { LinkConfig } from './link-config.js';

export interface LinkLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface LinkRunnerDeps {
  links: readonly LinkConfig[];
  /** The command pipeline's submit(): never throws, resolves with the terminal result. */
  submit(input: CommandInput): Promise<CommandResult>;
  log: LinkLogger;
  newId?: () => string;
}

/** A device event as the gateway publishes it. */
export interface DeviceEvent {
  device: string;
  kind: string;
  type: string;
  details: Readonly<Record<string, unknown>>;
  /** Epoch ms. */
  at: number;
}

export interface LinkStats {
  /** Triggers that started or queued a run. */
  triggered: number;
  /** Runs whose every step ended `ok`. */
  completed: number;
  /** Runs ended by a step in error. */
  failed: number;
  /** Triggers dropped because the link was busy and a newer trigger took the waiting place. */
  dropped: number;
}

class LinkState {
  running: Promise<void> | undefined;
  waiting: DeviceEvent | undefined;
  /** Dropped since the last log line about it. */
  droppedUnlogged = 0;
  readonly stats: LinkStats = { triggered: 0, completed: 0, failed: 0, dropped: 0 };

  constructor(readonly link: LinkConfig) {}
}

export class LinkRunner {
  /** Links by `device \0 event`. */
  private readonly byTrigger = new Map<string, LinkState[]>();
  private readonly states: LinkState[] = [];
  private accepting = false;
  private readonly newId: () => string;

  constructor(private readonly deps: LinkRunnerDeps) {
    this.newId = deps.newId ?? (() => `link-${randomUUID()}`);
    for (const link of deps.links) {
      const state = new LinkState(link);
      this.states.push(state);
      const key = triggerKey(link.on.device, link.on.event);
      const list = this.byTrigger.get(key);
      if (list) list.push(state);
      else this.byTrigger.set(key, [state]);
    }
  }

  /** Events from now on trigger links. */
  start(): void {
    this.accepting = true;
  }

  /** No new runs; waiting triggers are dropped; resolves when the runs under way have ended. */
  async stop(): Promise<void> {
    this.accepting = false;
    for (const state of this.states) state.waiting = undefined;
    await Promise.all(this.states.map((s) => s.running));
  }

  /** Call for every device event; cheap when no link listens for it. Never throws. */
  onEvent(event: DeviceEvent): void {
    if (!this.accepting) return;
    const states = this.byTrigger.get(triggerKey(event.device, event.type));
    if (!states) return;
    for (const state of states) {
      state.stats.triggered++;
      if (!state.running) {
        state.running = this.runFrom(state, event);
        continue;
      }
      if (state.waiting) {
        state.stats.dropped++;
        state.droppedUnlogged++;
      }
      state.waiting = event;
    }
  }

  stats(): Record<string, LinkStats> {
    return Object.fromEntries(this.states.map((s) => [s.link.name, { ...s.stats }]));
  }

  /** Runs the link for `first`, then for whatever trigger waited meanwhile, until none is left. */
  private async runFrom(state: LinkState, first: DeviceEvent): Promise<void> {
    let event: DeviceEvent | undefined = first;
    try {
      while (event) {
        await this.runOnce(state, event);
        if (state.droppedUnlogged > 0) {
          this.deps.log.warn(
            { code: 'LINK_TRIGGERS_DROPPED', link: state.link.name, dropped: state.droppedUnlogged, dropped_total: state.stats.dropped },
            'link triggered faster than its commands run; extra triggers dropped (one run at a time, the newest waits)',
          );
          state.droppedUnlogged = 0;
        }
        event = this.accepting ? state.waiting : undefined;
        state.waiting = undefined;
      }
    } finally {
      state.running = undefined;
    }
  }

  private async runOnce(state: LinkState, event: DeviceEvent): Promise<void> {
    const { link } = state;
    for (const [step, command] of link.run.entries()) {
      if (!this.accepting) return;
      const trigger: CommandTrigger = { link: link.name, step, kind: event.kind, device: event.device, event: event.type, at: event.at };
      let result: CommandResult;
      try {
        result = await this.deps.submit({
          kind: command.kind,
          device: command.device,
          command: command.command,
          payload: Buffer.from(JSON.stringify({ ...command.args, id: this.newId() }), 'utf8'),
          source: 'link',
          authorized: true,
          clientId: `link:${link.name}:${event.device}/${event.type}`,
          trigger,
        });
      } catch (err) {
        // submit() is documented never to throw; if it does, this run ends here and the next can still start.
        state.stats.failed++;
        this.deps.log.warn({ code: 'LINK_STEP_FAILED', link: link.name, step, err: String(err) }, 'linked command could not be submitted');
        return;
      }
      if (result.status !== 'ok') {
        state.stats.failed++;
        this.deps.log.warn(
          { code: 'LINK_STEP_FAILED', link: link.name, step, device: command.device, command: command.command, result_code: result.code, id: result.id, message: result.message },
          'linked command failed; the rest of this link run is skipped',
        );
        return;
      }
    }
    state.stats.completed++;
    this.deps.log.debug({ link: link.name, device: event.device, event: event.type }, 'link run done');
  }
}

function triggerKey(device: string, event: string): string {
  return `${device}\u0000${event}`;
}
