// Commissioning of configured devices, for the console (issue 14): read a device's points now, and
// pulse one output, before the device is trusted. Every action is journalled (type `commissioning`).
// The console's routes call these two functions; who may (the admin role) is the route's decision.
// A pulse runs in the device's command queue (CommandPipeline.runWhenIdle), so it never interleaves
// with a command, and its end is written whatever happens to the caller.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Commit } from '../commands/commit.js';
import type { Journal, JournalEntry } from '../commands/journal.js';
import type { CommandPipeline } from '../commands/pipeline.js';
import { DeviceError, type Readings } from '../driver-api.js';

/** Shortest and longest pulse a technician may ask for, ms. */
export const PULSE_MIN_MS = 50;
export const PULSE_MAX_MS = 10_000;

/** What commissioning needs of a device (src/devices/device.ts has it). */
export interface CommissionableDevice {
  readonly id: string;
  readonly kind: { readonly name: string };
  readonly availability: 'online' | 'offline';
  readonly config: { readonly command_timeout_ms: number };
  readonly points: { outputs: readonly string[]; inputs: readonly string[] };
  readPoints(signal?: AbortSignal): Promise<Readings>;
  writeOutput(output: string, on: boolean, signal?: AbortSignal): Promise<void>;
}

/** Who asked, for the journal: the console's logged-in user. */
export interface CommissioningActor {
  username: string;
  /** Where the request came from; `console` for the console's routes. */
  source?: string;
  /** The client's address, when known. */
  peer?: string;
}

export type CommissioningErrorCode = 'unknown_device' | 'bad_request' | 'offline' | 'busy' | 'timeout' | 'device_error';

export type CommissioningResult<T> = ({ ok: true } & T) | { ok: false; code: CommissioningErrorCode; message: string };

export interface ReadNowValue {
  device: string;
  kind: string;
  /** Epoch ms when the read started. */
  at: number;
  /** Each point by the driver's name: inputs, and the readback of each output under its name. */
  readings: Readings;
  outputs: readonly string[];
  inputs: readonly string[];
}

export interface PulseRequest {
  output: string;
  ms: number;
}

export interface PulseValue {
  device: string;
  kind: string;
  output: string;
  ms: number;
  /** Epoch ms when the output was switched on and off again. */
  on_at: number;
  off_at: number;
}

/** The two functions the console's routes call: POST /api/devices/:id/commissioning/read and /pulse. */
export interface DeviceCommissioningApi {
  readNow(deviceId: string, actor: CommissioningActor): Promise<CommissioningResult<ReadNowValue>>;
  pulseOutput(deviceId: string, request: PulseRequest, actor: CommissioningActor): Promise<CommissioningResult<PulseValue>>;
}

export interface DeviceCommissioningDeps {
  devices: { get(id: string): CommissionableDevice | undefined };
  pipeline: Pick<CommandPipeline, 'runWhenIdle'>;
  journal: Journal;
  commit: Commit;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  now?: () => number;
}

type Failure = { ok: false; code: CommissioningErrorCode; message: string };

function failure(code: CommissioningErrorCode, message: string): Failure {
  return { ok: false, code, message };
}

function fromError(err: unknown): Failure {
  if (err instanceof DeviceError) return failure(err.code, err.message);
  return failure('device_error', err instanceof Error ? err.message : String(err));
}

export class DeviceCommissioning implements DeviceCommissioningApi {
  private readonly now: () => number;

  constructor(private readonly deps: DeviceCommissioningDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The driver's readings now, whatever the device's availability (an offline device's error says why). */
  async readNow(deviceId: string, actor: CommissioningActor): Promise<CommissioningResult<ReadNowValue>> {
    const at = this.now();
    const device = this.deps.devices.get(deviceId);
    if (device === undefined) return this.journalled(at, 'read', deviceId, undefined, actor, {}, failure('unknown_device', `no device ${deviceId}`));
    const signal = AbortSignal.timeout(device.config.command_timeout_ms);
    let outcome: CommissioningResult<ReadNowValue>;
    try {
      const readings = await device.readPoints(signal);
      outcome = { ok: true, device: device.id, kind: device.kind.name, at, readings, ...device.points };
    } catch (err) {
      outcome = signal.aborted ? failure('timeout', `${device.id} gave no readings within ${device.config.command_timeout_ms} ms`) : fromError(err);
    }
    return this.journalled(at, 'read', device.id, device.kind.name, actor, outcome.ok ? { readings: outcome.readings } : {}, outcome);
  }

  /** Switches `output` on for `ms`, then off; only on an online device with no command running or queued. */
  async pulseOutput(deviceId: string, request: PulseRequest, actor: CommissioningActor): Promise<CommissioningResult<PulseValue>> {
    const at = this.now();
    const device = this.deps.devices.get(deviceId);
    const asked = { output: request.output, ms: request.ms };
    if (device === undefined) return this.journalled(at, 'pulse', deviceId, undefined, actor, asked, failure('unknown_device', `no device ${deviceId}`));
    const refuse = (code: CommissioningErrorCode, message: string) => this.journalled(at, 'pulse', device.id, device.kind.name, actor, asked, failure(code, message));
    const { outputs } = device.points;
    if (typeof request.output !== 'string' || !outputs.includes(request.output)) {
      return refuse('bad_request', outputs.length === 0 ? `${device.id} has no outputs` : `${device.id} has no output ${JSON.stringify(request.output)}; outputs: ${outputs.join(', ')}`);
    }
    if (!Number.isInteger(request.ms) || request.ms < PULSE_MIN_MS || request.ms > PULSE_MAX_MS) {
      return refuse('bad_request', `ms must be an integer ${PULSE_MIN_MS}..${PULSE_MAX_MS}, got ${JSON.stringify(request.ms)}`);
    }
    if (device.availability !== 'online') return refuse('offline', `${device.kind.name} ${device.id} is offline`);
    const queued = this.deps.pipeline.runWhenIdle(device.kind.name, device.id, () => this.pulse(device, request));
    if ('refused' in queued) return refuse(queued.refused === 'busy' ? 'busy' : 'offline', queued.message);
    let outcome: CommissioningResult<PulseValue>;
    try {
      outcome = { ok: true, device: device.id, kind: device.kind.name, ...(await queued.run) };
    } catch (err) {
      outcome = fromError(err);
    }
    return this.journalled(at, 'pulse', device.id, device.kind.name, actor, asked, outcome);
  }

  /** On, wait, off. The off is written even when the on failed (it may have reached the output). */
  private async pulse(device: CommissionableDevice, request: PulseRequest): Promise<Omit<PulseValue, 'device' | 'kind'>> {
    const timeoutMs = device.config.command_timeout_ms;
    let onError: unknown;
    const onAt = this.now();
    try {
      await device.writeOutput(request.output, true, AbortSignal.timeout(timeoutMs));
      await sleep(request.ms);
    } catch (err) {
      onError = err;
    }
    try {
      await this.switchOff(device, request.output, timeoutMs);
    } catch (err) {
      this.deps.log.warn({ device: device.id, output: request.output, err: String(err) }, 'commissioning pulse: the output could not be switched off');
      throw onError ?? err;
    }
    if (onError !== undefined) throw onError;
    return { output: request.output, ms: request.ms, on_at: onAt, off_at: this.now() };
  }

  /** One retry: a pulse must end. */
  private async switchOff(device: CommissionableDevice, output: string, timeoutMs: number): Promise<void> {
    try {
      await device.writeOutput(output, false, AbortSignal.timeout(timeoutMs));
    } catch {
      await device.writeOutput(output, false, AbortSignal.timeout(timeoutMs));
    }
  }

  private async journalled<T extends CommissioningResult<object>>(
    at: number,
    action: 'read' | 'pulse',
    device: string,
    kind: string | undefined,
    actor: CommissioningActor,
    payload: Record<string, unknown>,
    outcome: T,
  ): Promise<T> {
    const entry: JournalEntry = {
      at,
      type: 'commissioning',
      device,
      command: action,
      source: actor.source ?? 'console',
      username: actor.username,
      status: outcome.ok ? 'ok' : 'error',
      latency_ms: this.now() - at,
    };
    if (kind !== undefined) entry.kind = kind;
    if (actor.peer !== undefined) entry.peer = actor.peer;
    if (Object.keys(payload).length > 0) entry.payload = JSON.stringify(payload);
    if (!outcome.ok) {
      entry.code = outcome.code;
      entry.message = outcome.message;
    }
    this.deps.log.info({ device, action, user: actor.username, status: entry.status, code: entry.code }, 'commissioning');
    try {
      await this.deps.commit(() => this.deps.journal.append(entry));
    } catch (err) {
      this.deps.log.warn({ err: String(err), device, action }, 'could not journal a commissioning action');
    }
    return outcome;
  }
}
