// A turnstile: pulse coils pass_in (0) and pass_out (1) each authorise one passage on their
// rising edge, coil 2 holds free passage mode. Input registers 0 and 1 count completed passages
// in and out (uint16, wrapping); discrete input 0 is true while the arm rotates.
import type { DeviceModel, ModelContext } from './device-model.js';
import { PointTables } from './point-tables.js';
import { Timers } from './timers.js';

export const TURNSTILE_POINTS = {
  passInCoil: 0,
  passOutCoil: 1,
  freeCoil: 2,
  passagesInRegister: 0,
  passagesOutRegister: 1,
  armRotatingInput: 0,
} as const;

export type Direction = 'in' | 'out';

export class TurnstilePhysics implements DeviceModel {
  readonly kind = 'turnstile';
  readonly tables = new PointTables();
  private readonly timers = new Timers();
  private freePassage: NodeJS.Timeout | undefined;
  private rotations = 0;

  constructor(private readonly ctx: ModelContext) {}

  get counters(): { in: number; out: number } {
    const registers = this.tables.inputRegisters;
    return {
      in: registers[TURNSTILE_POINTS.passagesInRegister],
      out: registers[TURNSTILE_POINTS.passagesOutRegister],
    };
  }

  get free(): boolean {
    return this.tables.coils[TURNSTILE_POINTS.freeCoil];
  }

  start(): void {
    if (this.free) this.scheduleFreePassage();
  }

  stop(): void {
    // Counters survive a stop; passages still under way are abandoned.
    this.timers.cancelAll();
    this.freePassage = undefined;
    this.rotations = 0;
    this.tables.discreteInputs[TURNSTILE_POINTS.armRotatingInput] = false;
  }

  coilWritten(address: number, value: boolean, previous: boolean): void {
    const rising = value && !previous;
    if (address === TURNSTILE_POINTS.passInCoil && rising) this.authorise('in');
    else if (address === TURNSTILE_POINTS.passOutCoil && rising) this.authorise('out');
    else if (address === TURNSTILE_POINTS.freeCoil && value !== previous) {
      this.debug(`turnstile ${this.ctx.unit} free passage ${value ? 'on' : 'off'}`);
      if (value) this.scheduleFreePassage();
      else {
        this.timers.cancel(this.freePassage);
        this.freePassage = undefined;
      }
    }
  }

  private authorise(direction: Direction): void {
    const { rng, timing } = this.ctx;
    this.debug(`turnstile ${this.ctx.unit} passage ${direction} authorised`);
    this.timers.after(rng.between(timing.turnstileApproachMs), () => {
      if (rng.chance(timing.passProbability)) this.pass(direction);
      else this.debug(`turnstile ${this.ctx.unit} person walked away`, { direction });
    });
  }

  private scheduleFreePassage(): void {
    const { rng, timing } = this.ctx;
    this.freePassage = this.timers.after(rng.between(timing.freePassageEveryMs), () => {
      this.pass(rng.chance(0.5) ? 'in' : 'out');
      this.scheduleFreePassage();
    });
  }

  private pass(direction: Direction): void {
    this.rotations += 1;
    this.setArmRotating();
    this.timers.after(this.ctx.timing.armTurnMs, () => {
      this.rotations -= 1;
      const register =
        direction === 'in' ? TURNSTILE_POINTS.passagesInRegister : TURNSTILE_POINTS.passagesOutRegister;
      this.tables.inputRegisters[register] = (this.tables.inputRegisters[register] + 1) & 0xffff;
      this.setArmRotating();
      this.debug(`passage ${direction}`, { counters: this.counters });
    });
  }

  private setArmRotating(): void {
    this.tables.discreteInputs[TURNSTILE_POINTS.armRotatingInput] = this.rotations > 0;
  }

  private debug(msg: string, extra: object = {}): void {
    this.ctx.log.debug({ unit: this.ctx.unit, device: this.ctx.name, ...extra }, msg);
  }
}
