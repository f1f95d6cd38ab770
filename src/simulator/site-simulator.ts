// A Modbus TCP site full of simulated gates, turnstiles and barriers, one unit id per device, for
// the demo, for tests and for integrators without hardware. Register maps: gate-physics.ts,
// turnstile-physics.ts, barrier-physics.ts.
import ModbusRTU from 'modbus-serial';
import type { IServiceVector, ServerTCP } from 'modbus-serial';
import { BarrierPhysics, type ArmPosition } from './barrier-physics.js';
import { SIMULATED_KINDS, silentLog, type DeviceModel, type ModelContext, type SimulatedKind, type SimulatorLog } from './device-model.js';
import { SimulatorError } from './errors.js';
import { findFreePort } from './free-port.js';
import { GatePhysics } from './gate-physics.js';
import { ModbusException, ModbusExceptionCode } from './point-tables.js';
import { Random } from './random.js';
import { DEFAULT_INCIDENTS_PER_MINUTE, DEFAULT_TIMING, timingIssues, type SimTiming } from './timing.js';
import { TurnstilePhysics } from './turnstile-physics.js';

export type { SimTiming } from './timing.js';

export interface SimulatedDevice {
  /** Modbus unit id, 1..247 (Modbus over Serial Line V1.02 section 2.2: individual addresses). */
  unit: number;
  kind: SimulatedKind;
  name?: string;
}

export interface SiteSimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port, reported by start() and `port`. */
  port?: number;
  devices: SimulatedDevice[];
  /** Seeds every random choice; the same seed and the same requests replay the same run. */
  seed?: number;
  /** Per gate; default about one every 45 s; 0 disables forced and held-open incidents. */
  incidentsPerMinute?: number;
  timing?: Partial<SimTiming>;
  log?: SimulatorLog;
}

const BIND_ATTEMPTS = 5;

export class SiteSimulator {
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly models = new Map<number, DeviceModel>();
  private readonly log: SimulatorLog;
  private readonly devices: SimulatedDevice[];
  readonly seed: number;
  private server: ServerTCP | undefined;
  private boundPort = 0;

  constructor(opts: SiteSimulatorOptions) {
    const issues = optionIssues(opts);
    if (issues.length > 0) throw new SimulatorError('invalid_options', `invalid simulator options: ${issues.join('; ')}`);
    this.host = opts.host ?? '127.0.0.1';
    this.requestedPort = opts.port ?? 0;
    this.log = opts.log ?? silentLog;
    this.seed = opts.seed ?? Random.freshSeed();
    this.devices = opts.devices.map((d) => ({ ...d }));
    const timing: SimTiming = { ...DEFAULT_TIMING, ...opts.timing };
    const incidents = opts.incidentsPerMinute ?? DEFAULT_INCIDENTS_PER_MINUTE;
    // Building the models starts nothing: timers begin in start().
    for (const device of this.devices) {
      const ctx = {
        unit: device.unit,
        name: device.name ?? `${device.kind}-${device.unit}`,
        rng: Random.derive(this.seed, device.unit),
        timing,
        log: this.log,
      };
      this.models.set(device.unit, buildModel(device.kind, ctx, incidents));
    }
  }

  /** The bound port while running (0 before the first start). */
  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<{ host: string; port: number }> {
    if (this.server) throw new SimulatorError('already_running', 'the simulator is already running');
    const { server, port } = await this.listen();
    this.server = server;
    this.boundPort = port;
    for (const model of this.models.values()) model.start();
    this.log.info(
      { host: this.host, port, seed: this.seed, devices: this.devices },
      'modbus site simulator listening',
    );
    return { host: this.host, port };
  }

  /** Closes the server and every client connection, and cancels all timers. State (counters, coils) is kept. */
  async stop(): Promise<void> {
    for (const model of this.models.values()) model.stop();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    // close() stops listening, destroys open sockets, and calls back once the listener is gone.
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.log.info({ host: this.host, port: this.boundPort }, 'modbus site simulator stopped');
  }

  door(unit: number): 'open' | 'closed' {
    return this.gate(unit).doorOpen ? 'open' : 'closed';
  }

  counters(unit: number): { in: number; out: number } {
    return this.turnstile(unit).counters;
  }

  /** A forced-door incident now: the door opens (if closed) and closes a few seconds later. */
  forceDoor(unit: number): void {
    this.gate(unit).force();
  }

  /** The gate's next opening after an unlock happens for sure and is held open for `heldOpenMs`. */
  holdDoor(unit: number): void {
    this.gate(unit).holdNext();
  }

  /** Where the barrier's arm is, by its limit switches. */
  arm(unit: number): ArmPosition {
    return this.barrier(unit).position;
  }

  /** A vehicle drives onto the barrier's loop now and stays `stayMs` (until vehicleLeaves when absent). */
  vehicleArrives(unit: number, stayMs?: number): void {
    this.barrier(unit).vehicleArrives(stayMs);
  }

  vehicleLeaves(unit: number): void {
    this.barrier(unit).vehicleLeaves();
  }

  vehicleOnLoop(unit: number): boolean {
    return this.barrier(unit).vehicleOnLoop;
  }

  /** How often the barrier's arm came down on a vehicle on its loop. */
  barrierHits(unit: number): number {
    return this.barrier(unit).hits;
  }

  private gate(unit: number): GatePhysics {
    return this.modelOf(unit, GatePhysics, 'gate');
  }

  private turnstile(unit: number): TurnstilePhysics {
    return this.modelOf(unit, TurnstilePhysics, 'turnstile');
  }

  private barrier(unit: number): BarrierPhysics {
    return this.modelOf(unit, BarrierPhysics, 'barrier');
  }

  private modelOf<M extends DeviceModel>(unit: number, type: new (...args: never[]) => M, kind: SimulatedKind): M {
    const model = this.model(unit);
    if (!(model instanceof type)) throw new SimulatorError('wrong_kind', `unit ${unit} is a ${model.kind}, not a ${kind}`);
    return model;
  }

  private model(unit: number): DeviceModel {
    const model = this.models.get(unit);
    if (!model) throw new SimulatorError('unknown_unit', `no simulated device has unit id ${unit}`);
    return model;
  }

  /**
   * The model answering `unit` on the wire. An unknown unit id gets exception 0x0B, gateway target
   * device failed to respond (Modbus Application Protocol V1.1b3 section 7), which is what a Modbus
   * TCP to RS-485 gateway answers when nothing on its line replies. Clients learn of the missing
   * device at once instead of waiting out a timeout.
   */
  private wireModel(unit: number): DeviceModel {
    const model = this.models.get(unit);
    if (!model) {
      throw new ModbusException(ModbusExceptionCode.gatewayTargetFailedToRespond, `no device with unit id ${unit}`);
    }
    return model;
  }

  /**
   * ServerTCP calls these once per address of a request (and picks the synchronous calling style
   * because each has fewer parameters than the callback style); a throw becomes an exception
   * response.
   */
  private vector(): IServiceVector {
    return {
      getCoil: (address: number, unit: number) => this.wireModel(unit).tables.readCoil(address),
      getDiscreteInput: (address: number, unit: number) => this.wireModel(unit).tables.readDiscreteInput(address),
      getInputRegister: (address: number, unit: number) => this.wireModel(unit).tables.readInputRegister(address),
      getHoldingRegister: (address: number, unit: number) => this.wireModel(unit).tables.readHoldingRegister(address),
      setCoil: (address: number, value: boolean, unit: number) => {
        const model = this.wireModel(unit);
        const previous = model.tables.writeCoil(address, value);
        model.coilWritten(address, value, previous);
      },
      setRegister: (address: number, value: number, unit: number) => {
        this.wireModel(unit).tables.writeHoldingRegister(address, value);
      },
    };
  }

  private async listen(): Promise<{ server: ServerTCP; port: number }> {
    for (let attempt = 1; ; attempt++) {
      const port = this.requestedPort !== 0 ? this.requestedPort : await findFreePort(this.host);
      try {
        return { server: await this.openServer(port), port };
      } catch (err) {
        const raced = this.requestedPort === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (raced && attempt < BIND_ATTEMPTS) continue;
        throw new SimulatorError('listen_failed', `cannot listen on ${this.host}:${port}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
  }

  private openServer(port: number): Promise<ServerTCP> {
    return new Promise((resolve, reject) => {
      // unitID 255: the server passes every unit id to the vector, which answers per device.
      const server = new ModbusRTU.ServerTCP(this.vector(), { host: this.host, port, unitID: 255 });
      const failed = (err: Error) => {
        server.removeListener('initialized', listening);
        server.close(() => reject(err));
      };
      const listening = () => {
        server.removeListener('serverError', failed);
        server.on('serverError', (err: Error | null) => this.log.info({ err: err?.message }, 'modbus simulator server error'));
        resolve(server);
      };
      server.once('initialized', listening);
      server.once('serverError', failed);
      // Client sockets that reset or vanish are routine for a simulator; the library emits these here.
      server.on('socketError', (err: Error | null) => this.log.debug({ err: err?.message }, 'modbus simulator client socket error'));
      server.on('error', (err: Error | null) => this.log.debug({ err: err?.message }, 'modbus simulator error'));
    });
  }
}

function optionIssues(opts: SiteSimulatorOptions): string[] {
  const issues: string[] = [];
  if (!Array.isArray(opts?.devices)) return ['devices: must be a list'];
  const seen = new Set<number>();
  opts.devices.forEach((device, i) => {
    if (!Number.isInteger(device?.unit) || device.unit < 1 || device.unit > 247) {
      issues.push(`devices[${i}].unit: must be an integer 1..247`);
    } else if (seen.has(device.unit)) {
      issues.push(`devices[${i}].unit: unit id ${device.unit} is used twice`);
    } else {
      seen.add(device.unit);
    }
    if (!SIMULATED_KINDS.includes(device?.kind)) issues.push(`devices[${i}].kind: must be one of ${SIMULATED_KINDS.join(', ')}`);
  });
  if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port >= 0 && opts.port <= 65535)) {
    issues.push('port: must be an integer 0..65535');
  }
  if (opts.seed !== undefined && !Number.isInteger(opts.seed)) issues.push('seed: must be an integer');
  const rate = opts.incidentsPerMinute;
  if (rate !== undefined && !(Number.isFinite(rate) && rate >= 0)) issues.push('incidentsPerMinute: must be a number >= 0');
  if (opts.timing !== undefined) issues.push(...timingIssues(opts.timing));
  return issues;
}

function buildModel(kind: SimulatedKind, ctx: ModelContext, incidentsPerMinute: number): DeviceModel {
  switch (kind) {
    case 'gate':
      return new GatePhysics(ctx, incidentsPerMinute);
    case 'turnstile':
      return new TurnstilePhysics(ctx);
    case 'barrier':
      return new BarrierPhysics(ctx);
  }
}
