import type { ActionOutcome, ConfigIssue, ListenOptions, NoticeListener, PointSpec, Readings } from '../../driver-api.js';
import type { FieldProblem, FieldSpecs, FieldValues } from '../../config/fields.js';

export type SafeState = 'lock' | 'unlock' | 'leave';

/**
 * How a behaviour reaches the hardware: named outputs, each write taking the command lane of the
 * transport. A write given a signal is withdrawn if the signal aborts before it reaches the wire
 * (the command timed out); writes that end a pulse or restore a safe state take no signal.
 */
export interface OutputPort {
  write(output: string, on: boolean, signal?: AbortSignal, args?: Readonly<Record<string, string | number>>): Promise<void>;
  has(output: string): boolean;
}

/** A picture a device took (a camera snapshot). */
export interface ImageMeta {
  contentType: string;
  /** Epoch ms when it was taken. */
  at: number;
}

export interface BehaviourSink {
  /** The device's state changed; `snapshot()` holds it. */
  stateChanged(): void;
  event(type: string, details?: Record<string, unknown>): void;
  /** Hands over an image (a camera snapshot's JPEG bytes); absent where nothing takes images. */
  image?(bytes: Buffer, meta: ImageMeta): void;
}

/**
 * How a behaviour runs the driver's actions (cameras: snapshot, ptz, ...), on the command lane of
 * the transport. A `signal` withdraws the action if it aborts before the action reaches the wire.
 */
export interface ActionPort {
  perform(action: string, args: Readonly<Record<string, string | number>>, signal?: AbortSignal): Promise<ActionOutcome>;
}

export interface BehaviourLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Reads every input of the device now, outside the poll cycle (a barrier looks at its loop before it closes on start). */
export interface InputPort {
  read(): Promise<Readings>;
}

/**
 * How a behaviour hears what a device reports by itself (a camera's events), through its driver;
 * the returned function stops listening.
 */
export interface NoticePort {
  listen(opts: ListenOptions, listener: NoticeListener): () => Promise<void>;
}

/** A nested block of a device's config (a camera's `events: {...}`), parsed by its own function. */
export interface SectionDefinition {
  /** One line for the docs. */
  doc: string;
  /** The block's value, defaults applied; every problem pushed under `path` (which names the device). */
  parse(raw: unknown, path: string, issues: ConfigIssue[]): unknown;
}

export interface BehaviourContext {
  deviceId: string;
  settings: FieldValues;
  /** The device's parsed config sections (KindDefinition.sections), by key; absent: none configured. */
  sections?: Readonly<Record<string, unknown>>;
  /** Absent where the driver does not listen. */
  notices?: NoticePort;
  outputs: OutputPort;
  /** Absent where the device cannot be read on demand; a behaviour then waits for the first poll. */
  inputs?: InputPort;
  /** The driver's actions, for kinds that declare `actions`. */
  actions?: ActionPort;
  sink: BehaviourSink;
  log: BehaviourLogger;
}

/** What a device of one kind does with its points: commands, safe state, the model its readings feed. */
export interface Behaviour {
  /** Drive outputs to the configured safe state; called before the device is announced online. */
  applySafeState(): Promise<void>;
  /** Fresh readings from a poll. `readStartedAt` (performance.now()) lets a behaviour ignore stale readbacks. */
  observe(readings: Readings, readStartedAt: number): void;
  run(command: string, args: FieldValues, signal: AbortSignal): Promise<Record<string, unknown>>;
  snapshot(): Record<string, unknown>;
  /** End anything timed (a pulse) safely; no new work after this. */
  stop(): Promise<void>;
}

export interface CommandDefinition {
  /** One line for people: what the command does. */
  doc: string;
  /** Argument specs; a function when limits depend on the device's settings. */
  args: FieldSpecs | ((settings: FieldValues) => FieldSpecs);
  required?: readonly string[];
  /**
   * Runs the command on a device's parts (the running capability pieces its kind is built from).
   * Typed by the kind that defines it (src/devices/capabilities/compose.ts); opaque here.
   */
  run(parts: never, args: FieldValues, signal: AbortSignal): Promise<Record<string, unknown>>;
}

export interface EventDefinition {
  doc: string;
  /** Matters for the building's security: kept in the cloud outbox when it overflows, like results. */
  security?: boolean;
  /**
   * Reported by the device from its own sensors (a camera's motion), never caused by a command:
   * a link on it may command that same device.
   */
  external?: boolean;
}

export interface KindDefinition {
  name: string;
  /** One line for `gatehouse check` and the docs. */
  description: string;
  points: PointSpec;
  /** Device-level settings of this kind, written at the top level of a device's config. */
  settings: FieldSpecs;
  /** Nested blocks of a device's config (a camera's `events`), each with its own parse. */
  sections?: Readonly<Record<string, SectionDefinition>>;
  /** Cross-field checks of a device's settings (defaults applied), each problem naming its key. */
  check(settings: FieldValues): FieldProblem[];
  commands: Record<string, CommandDefinition>;
  /** Driver actions (DriverDefinition.actions) a device of this kind needs, e.g. a camera's snapshot. */
  actions?: readonly string[];
  /**
   * The event types a device of this kind emits (on its event topic); links (src/links) may only
   * trigger on these, or on events its driver declares. The keys of `eventDocs`.
   */
  events: readonly string[];
  eventDocs: Readonly<Record<string, EventDefinition>>;
  /** Every field of the state JSON, with what it says. */
  state: Readonly<Record<string, string>>;
  /** Every output point, with what the device does with it on start (and at a stop). */
  safeState: Readonly<Record<string, string>>;
  createBehaviour(ctx: BehaviourContext): Behaviour;
}
