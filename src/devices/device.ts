import { performance } from 'node:perf_hooks';
import { DeviceError, type DriverInstance, type DriverLogger, type Readings } from '../driver-api.js';
import { parseFields, type FieldProblem, type FieldValues } from '../config/fields.js';
import type { Behaviour, ImageMeta, KindDefinition } from './kinds/types.js';

export type Availability = 'online' | 'offline';

/** Where a device's news goes; the gateway turns it into retained topics and events. */
export interface DeviceSink {
  state(device: Device, state: Record<string, unknown>): void;
  event(device: Device, type: string, details: Record<string, unknown>): void;
  availability(device: Device, availability: Availability): void;
  /** A picture the device took (a camera snapshot's JPEG bytes). Absent: images are dropped (logged at debug). */
  image?(device: Device, bytes: Buffer, meta: ImageMeta): void;
  /** Optional: a poll cycle (or the start-up safe-state attempt) failed, with the DeviceError code. For metrics. */
  pollFailed?(device: Device, code: string): void;
}

export interface DeviceSettings {
  id: string;
  name: string;
  poll_ms: number;
  offline_after: number;
  command_timeout_ms: number;
  settings: FieldValues;
  /** Parsed config sections of the kind (a camera's `events`); absent: none. */
  sections?: Readonly<Record<string, unknown>>;
}

/**
 * One device at run time: polls its driver, feeds readings to its kind's behaviour, runs commands,
 * and decides availability. It goes `offline` after `offline_after` failures in a row (polls or
 * commands) and back `online`, with a fresh state, once it answers again. Its safe state is applied
 * before it is first announced online.
 */
export class Device {
  private _availability: Availability = 'offline';
  private safeStateApplied = false;
  private failures = 0;
  private pollTimer: NodeJS.Timeout | undefined;
  private running = false;
  private currentCycle: Promise<void> | undefined;
  private statePending = false;
  private lastPublishedState = '';
  readonly behaviour: Behaviour;

  constructor(
    readonly config: DeviceSettings,
    readonly kind: KindDefinition,
    private readonly driver: DriverInstance,
    private readonly sink: DeviceSink,
    private readonly log: DriverLogger,
  ) {
    this.behaviour = kind.createBehaviour({
      deviceId: config.id,
      settings: config.settings,
      sections: config.sections ?? {},
      ...(driver.listen === undefined ? {} : { notices: { listen: (opts, listener) => driver.listen!(opts, listener) } }),
      outputs: {
        write: (output, on, signal, args) => this.driver.write(output, on, { priority: 'command', signal, args }),
        has: (output) => this.driver.outputs.includes(output),
      },
      inputs: { read: () => this.driver.read({ priority: 'poll' }) },
      actions: {
        perform: (action, args, signal) => {
          if (this.driver.perform === undefined) {
            return Promise.reject(new DeviceError('device_error', `the driver of ${config.id} performs no actions (asked for ${action})`, { notApplied: true }));
          }
          return this.driver.perform(action, args, { priority: 'command', signal });
        },
      },
      sink: {
        stateChanged: () => this.scheduleStatePublish(),
        event: (type, details = {}) => this.sink.event(this, type, details),
        image: (bytes, meta) => {
          if (this.sink.image) this.sink.image(this, bytes, meta);
          else log.debug({ bytes: bytes.length, content_type: meta.contentType }, 'image dropped: nothing takes images');
        },
      },
      log,
    });
  }

  get id(): string {
    return this.config.id;
  }

  get availability(): Availability {
    return this._availability;
  }

  state(): Record<string, unknown> {
    return this.behaviour.snapshot();
  }

  /** Commissioning (src/commissioning/): the names of the driver's outputs and inputs. */
  get points(): { outputs: readonly string[]; inputs: readonly string[] } {
    return { outputs: this.driver.outputs, inputs: this.driver.inputs };
  }

  /** Commissioning: what the driver reads now, outside the poll cycle (the kind's state is not touched). */
  readPoints(signal?: AbortSignal): Promise<Readings> {
    return this.driver.read({ priority: 'command', signal });
  }

  /** Commissioning: one output switched by name, outside the kind's commands; the caller keeps it from interleaving with them. */
  writeOutput(output: string, on: boolean, signal?: AbortSignal): Promise<void> {
    return this.driver.write(output, on, { priority: 'command', signal });
  }

  /** Starts polling. Resolves after the first attempt to reach the device, whether it answered or not. */
  start(): Promise<void> {
    this.running = true;
    return this.runCycle();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.pollTimer);
    await this.currentCycle;
    await this.behaviour.stop();
  }

  /** Validate a command's arguments against the kind's spec and this device's limits. */
  parseArgs(command: string, args: Record<string, unknown>): { values: FieldValues; problems: FieldProblem[] } {
    const definition = this.kind.commands[command];
    const specs = typeof definition.args === 'function' ? definition.args(this.config.settings) : definition.args;
    return parseFields(args, specs, definition.required);
  }

  async execute(command: string, args: FieldValues, signal: AbortSignal): Promise<Record<string, unknown>> {
    if (this._availability === 'offline') throw new DeviceError('offline', `${this.kind.name} ${this.id} is offline`);
    try {
      const data = await this.behaviour.run(command, args, signal);
      this.recordSuccess();
      return data;
    } catch (err) {
      // A command withdrawn because it timed out in a queue says nothing about the device.
      if (!signal.aborted) this.recordFailure(err, `command ${command}`);
      throw err;
    }
  }

  /**
   * Reads the device now, outside the poll cycle (the gateway's `resync`), and takes the readings
   * as a poll does: availability and state follow. Rejects when it does not answer (a failure, as a
   * poll's) or has not started (its safe state comes first).
   */
  async refresh(): Promise<void> {
    if (!this.running || !this.safeStateApplied) throw new DeviceError('offline', `${this.kind.name} ${this.id} has not reached its safe state yet`);
    const readStartedAt = performance.now();
    try {
      const readings = await this.driver.read({ priority: 'command' });
      this.behaviour.observe(readings, readStartedAt);
      this.recordSuccess();
    } catch (err) {
      this.recordFailure(err, 'resync');
      throw err;
    }
  }

  private async cycle(): Promise<void> {
    try {
      if (!this.safeStateApplied) {
        await this.behaviour.applySafeState();
        this.safeStateApplied = true;
        this.log.info({}, 'safe state applied');
      }
      const readStartedAt = performance.now();
      const readings = await this.driver.read({ priority: 'poll' });
      this.behaviour.observe(readings, readStartedAt);
      this.recordSuccess();
    } catch (err) {
      this.recordFailure(err, this.safeStateApplied ? 'poll' : 'safe state');
      this.sink.pollFailed?.(this, err instanceof DeviceError ? err.code : 'device_error');
    } finally {
      if (this.running) this.pollTimer = setTimeout(() => void this.runCycle(), this.config.poll_ms);
    }
  }

  private runCycle(): Promise<void> {
    this.currentCycle = this.cycle();
    return this.currentCycle;
  }

  private recordSuccess(): void {
    this.failures = 0;
    if (this._availability === 'online' || !this.safeStateApplied) return;
    this._availability = 'online';
    this.log.info({}, 'device online');
    // Fresh state first, so a consumer that sees `online` already has the current picture.
    this.publishState(true);
    this.sink.availability(this, 'online');
  }

  private recordFailure(err: unknown, during: string): void {
    this.failures++;
    const code = err instanceof DeviceError ? err.code : 'device_error';
    const message = err instanceof Error ? err.message : String(err);
    if (this.failures === 1 || this.failures === this.config.offline_after) {
      this.log.warn({ during, code, failures: this.failures, err: message }, 'device did not answer');
    }
    if (this._availability === 'online' && this.failures >= this.config.offline_after) {
      this._availability = 'offline';
      this.log.warn({ failures: this.failures }, 'device offline');
      this.sink.availability(this, 'offline');
    }
  }

  /** Several changes from one poll become one retained state message. */
  private scheduleStatePublish(): void {
    if (this.statePending) return;
    this.statePending = true;
    queueMicrotask(() => {
      this.statePending = false;
      if (this._availability === 'online') this.publishState(false);
    });
  }

  private publishState(evenIfUnchanged: boolean): void {
    const state = this.state();
    const json = JSON.stringify(state);
    if (!evenIfUnchanged && json === this.lastPublishedState) return;
    this.lastPublishedState = json;
    this.sink.state(this, state);
  }
}
