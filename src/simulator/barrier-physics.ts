// A vehicle barrier: coil 0 raises the arm while true and lowers it when false; the arm takes
// barrierTravelMs from one end to the other (part of it when it turns back mid-way). Discrete
// inputs: 0 the safety loop (true while a vehicle is on it), 1 the open limit switch, 2 the closed
// one (both false while the arm moves). Once the arm is up, simulated vehicles come: one drives
// onto the loop, stays a while and drives on. An arm lowered while a vehicle is on the loop hits it;
// hits are counted, which is what a test of the gateway's safety logic wants to see stay at zero.
import type { DeviceModel, ModelContext } from './device-model.js';
import { PointTables } from './point-tables.js';
import { Timers } from './timers.js';

export const BARRIER_POINTS = { openCoil: 0, loopInput: 0, openLimitInput: 1, closedLimitInput: 2 } as const;

export type ArmPosition = 'open' | 'closed' | 'moving';

export class BarrierPhysics implements DeviceModel {
  readonly kind = 'barrier';
  readonly tables = new PointTables();
  private readonly timers = new Timers();
  /** 0 = down, 1 = up, at `levelAt`; moving towards `target` since then. */
  private level = 0;
  private levelAt = Date.now();
  private target = 0;
  private travel: NodeJS.Timeout | undefined;
  private approaching: NodeJS.Timeout | undefined;
  private leaving: NodeJS.Timeout | undefined;
  private hitCount = 0;

  constructor(private readonly ctx: ModelContext) {
    this.setLimits();
  }

  get position(): ArmPosition {
    const inputs = this.tables.discreteInputs;
    return inputs[BARRIER_POINTS.openLimitInput] ? 'open' : inputs[BARRIER_POINTS.closedLimitInput] ? 'closed' : 'moving';
  }

  get vehicleOnLoop(): boolean {
    return this.tables.discreteInputs[BARRIER_POINTS.loopInput];
  }

  get hits(): number {
    return this.hitCount;
  }

  start(): void {}

  stop(): void {
    this.timers.cancelAll();
    this.travel = this.approaching = this.leaving = undefined;
    this.level = this.target;
    this.setLimits();
    this.setLoop(false);
  }

  coilWritten(address: number, value: boolean, previous: boolean): void {
    if (address !== BARRIER_POINTS.openCoil || value === previous) return;
    this.debug(`barrier ${this.ctx.unit} ${value ? 'raising' : 'lowering'}`);
    if (!value && this.vehicleOnLoop) {
      this.hitCount += 1;
      this.debug(`barrier ${this.ctx.unit} arm lowered onto a vehicle`, { hits: this.hitCount });
    }
    if (!value) {
      // Whoever was on the way finds the arm coming down and waits for the next opening.
      this.timers.cancel(this.approaching);
      this.approaching = undefined;
    }
    this.moveTo(value ? 1 : 0);
  }

  /** A vehicle drives onto the loop now and stays `stayMs` (until vehicleLeaves() when absent). */
  vehicleArrives(stayMs?: number): void {
    this.timers.cancel(this.leaving);
    this.leaving = undefined;
    this.setLoop(true);
    this.debug(`vehicle on the loop of barrier ${this.ctx.unit}`);
    if (stayMs !== undefined) this.leaving = this.timers.after(stayMs, () => this.vehicleLeaves());
  }

  vehicleLeaves(): void {
    this.timers.cancel(this.leaving);
    this.leaving = undefined;
    if (!this.vehicleOnLoop) return;
    this.setLoop(false);
    this.debug(`vehicle left the loop of barrier ${this.ctx.unit}`);
  }

  private moveTo(target: number): void {
    const now = Date.now();
    this.level = this.levelNow(now);
    this.levelAt = now;
    this.target = target;
    this.timers.cancel(this.travel);
    this.travel = this.timers.after(Math.abs(target - this.level) * this.ctx.timing.barrierTravelMs, () => {
      this.travel = undefined;
      this.level = target;
      this.levelAt = Date.now();
      this.setLimits();
      this.debug(`barrier ${this.ctx.unit} ${target === 1 ? 'open' : 'closed'}`);
      if (target === 1) this.vehicleApproaches();
    });
    this.setLimits();
  }

  private levelNow(now: number): number {
    if (this.travel === undefined) return this.level;
    const moved = (now - this.levelAt) / Math.max(1, this.ctx.timing.barrierTravelMs);
    return this.target > this.level ? Math.min(this.target, this.level + moved) : Math.max(this.target, this.level - moved);
  }

  private vehicleApproaches(): void {
    const { rng, timing } = this.ctx;
    if (!rng.chance(timing.vehicleProbability)) return;
    this.timers.cancel(this.approaching);
    this.approaching = this.timers.after(rng.between(timing.vehicleApproachMs), () => {
      this.approaching = undefined;
      if (this.position === 'open' && !this.vehicleOnLoop) this.vehicleArrives(rng.between(timing.vehicleOnLoopMs));
    });
  }

  private setLimits(): void {
    const moving = this.travel !== undefined;
    this.tables.discreteInputs[BARRIER_POINTS.openLimitInput] = !moving && this.level === 1;
    this.tables.discreteInputs[BARRIER_POINTS.closedLimitInput] = !moving && this.level === 0;
  }

  private setLoop(occupied: boolean): void {
    this.tables.discreteInputs[BARRIER_POINTS.loopInput] = occupied;
  }

  private debug(msg: string, extra: object = {}): void {
    this.ctx.log.debug({ unit: this.ctx.unit, device: this.ctx.name, ...extra }, msg);
  }
}
