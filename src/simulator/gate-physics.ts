// A gate: an electric lock on coil 0 (true = released, reads back what was written) and a door
// contact on discrete input 0 (true = open). Simulated people come through after an unlock; now
// and then a door is forced (opens while locked) or held open after an unlock.
import type { DeviceModel, ModelContext } from './device-model.js';
import { PointTables } from './point-tables.js';
import { Timers } from './timers.js';

export const GATE_POINTS = { unlockCoil: 0, doorContactInput: 0 } as const;

export class GatePhysics implements DeviceModel {
  readonly kind = 'gate';
  readonly tables = new PointTables();
  private readonly timers = new Timers();
  private approaching: NodeJS.Timeout | undefined;
  private closing: NodeJS.Timeout | undefined;
  private holdNextOpening = false;

  constructor(
    private readonly ctx: ModelContext,
    private readonly incidentsPerMinute: number,
  ) {}

  get doorOpen(): boolean {
    return this.tables.discreteInputs[GATE_POINTS.doorContactInput];
  }

  get unlocked(): boolean {
    return this.tables.coils[GATE_POINTS.unlockCoil];
  }

  start(): void {
    this.scheduleIncident();
  }

  stop(): void {
    this.timers.cancelAll();
    this.approaching = this.closing = undefined;
    this.setDoor(false);
  }

  coilWritten(address: number, value: boolean, previous: boolean): void {
    if (address !== GATE_POINTS.unlockCoil || value === previous) return;
    if (value) {
      this.debug(`gate ${this.ctx.unit} unlocked`);
      this.personApproaches();
    } else {
      this.debug(`gate ${this.ctx.unit} locked`);
      // Whoever was still on the way finds the door locked again.
      this.timers.cancel(this.approaching);
      this.approaching = undefined;
    }
  }

  /** Opens the door now without an unlock, as if someone forced it; it closes a few seconds later. */
  force(): void {
    if (this.doorOpen) return;
    this.debug(`door ${this.ctx.unit} forced open`, { locked: !this.unlocked });
    this.openFor(this.ctx.rng.between(this.ctx.timing.forcedOpenMs));
  }

  /** The next opening after an unlock (which then surely happens) is held open for heldOpenMs. */
  holdNext(): void {
    if (this.holdNextOpening) return;
    this.holdNextOpening = true;
    this.debug(`door ${this.ctx.unit} will be held open at its next opening`);
  }

  private personApproaches(): void {
    const { rng, timing } = this.ctx;
    this.timers.cancel(this.approaching);
    this.approaching = this.timers.after(rng.between(timing.gateApproachMs), () => {
      this.approaching = undefined;
      if (this.doorOpen) return;
      if (this.holdNextOpening) {
        this.holdNextOpening = false;
        this.debug(`door ${this.ctx.unit} opened and held open`);
        this.openFor(timing.heldOpenMs);
      } else if (rng.chance(timing.gateOpenProbability)) {
        this.debug(`door ${this.ctx.unit} opened`);
        this.openFor(rng.between(timing.doorOpenMs));
      } else {
        this.debug(`nobody came through gate ${this.ctx.unit}`);
      }
    });
  }

  private openFor(ms: number): void {
    this.setDoor(true);
    this.timers.cancel(this.closing);
    // The door closes on its closer whether or not the lock was re-engaged meanwhile.
    this.closing = this.timers.after(ms, () => {
      this.closing = undefined;
      this.setDoor(false);
      this.debug(`door ${this.ctx.unit} closed`);
    });
  }

  private scheduleIncident(): void {
    if (this.incidentsPerMinute <= 0) return;
    const { rng } = this.ctx;
    this.timers.after(rng.exponential(60_000 / this.incidentsPerMinute), () => {
      // A forced door needs a closed, locked door; a held-open one waits for the next unlock.
      const canForce = !this.doorOpen && !this.unlocked;
      if (canForce && (this.holdNextOpening || rng.chance(0.5))) this.force();
      else this.holdNext();
      this.scheduleIncident();
    });
  }

  private setDoor(open: boolean): void {
    this.tables.discreteInputs[GATE_POINTS.doorContactInput] = open;
  }

  private debug(msg: string, extra: object = {}): void {
    this.ctx.log.debug({ unit: this.ctx.unit, device: this.ctx.name, ...extra }, msg);
  }
}
