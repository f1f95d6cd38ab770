// The driver interface: the only module of src/ that drivers/ may import.
// A driver translates named points (outputs it switches, inputs it reads) into a protocol.
// What those points mean (pulses, door model, passage counting, safe state) lives in src/devices.
// Drivers know nothing of MQTT, SQLite or aedes.

/** A structured, human-readable problem in configuration, naming its key path. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** What a device reads from hardware: named inputs, boolean (contacts, readbacks) or numeric (counters). */
export type Readings = Record<string, boolean | number>;

export interface RequestOptions {
  /** Commands go ahead of polls on a shared link. */
  priority: 'command' | 'poll';
  signal?: AbortSignal;
  /**
   * The arguments of the command behind a write (`duration_ms` of an unlock, `direction` of a
   * pass), for protocols that carry them, such as serial-line templates. Absent for writes no
   * command asked for (safe state, the end of a pulse).
   */
  args?: Readonly<Record<string, string | number>>;
}

/**
 * Modbus access as a transport offers it: one request on the wire at a time per link, with
 * reconnect and backoff handled by the transport. Addresses are PDU addresses, zero-based
 * (Modbus Application Protocol V1.1b3 section 4.4).
 */
export interface ModbusAccess extends TransportAccess {
  readonly kind: 'modbus';
  readonly name: string;
  readCoils(unit: number, address: number, count: number, opts: RequestOptions): Promise<boolean[]>;
  readDiscreteInputs(unit: number, address: number, count: number, opts: RequestOptions): Promise<boolean[]>;
  readHoldingRegisters(unit: number, address: number, count: number, opts: RequestOptions): Promise<number[]>;
  readInputRegisters(unit: number, address: number, count: number, opts: RequestOptions): Promise<number[]>;
  writeCoil(unit: number, address: number, value: boolean, opts: RequestOptions): Promise<void>;
  writeRegister(unit: number, address: number, value: number, opts: RequestOptions): Promise<void>;
}

export interface LineRequestOptions extends RequestOptions {
  /** Overrides the transport's reply timeout for this request. */
  timeoutMs?: number;
}

/**
 * A serial port speaking text lines: one request on the wire at a time. request() sends a line
 * (the transport appends the terminator) and resolves with the first received line that `isReply`
 * accepts; DeviceError('timeout') when none comes in time, DeviceError('offline') with notApplied
 * when the port is not open. Every other received line goes to the unsolicited listeners.
 */
export interface SerialLineAccess extends TransportAccess {
  readonly kind: 'serial-line';
  readonly name: string;
  request(line: string, isReply: (line: string) => boolean, opts: LineRequestOptions): Promise<string>;
  /** Returns a function that removes the listener. */
  onUnsolicited(listener: (line: string) => void): () => void;
}

/**
 * What a driver is handed: one transport's access, told apart by `kind`. Each transport defines its
 * own (ModbusAccess and SerialLineAccess below, shared by several drivers; the ONVIF camera's in
 * src/transport/onvif/access.ts); a driver checks `kind` and uses the one it was written for.
 */
export interface TransportAccess {
  readonly kind: string;
  readonly name: string;
}

/** Narrows a driver's transport to the access type of `kind` (the transport decides its kind). */
export function isAccessOf<T extends TransportAccess>(access: TransportAccess, kind: T['kind']): access is T {
  return access.kind === kind;
}

export interface DriverLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** The points a device of some kind needs. A driver maps each name to something on the wire. */
export interface PointSpec {
  outputs: { required: readonly string[]; optional: readonly string[] };
  inputs: { required: readonly string[]; optional: readonly string[] };
}

export interface DriverContext<Options> {
  deviceId: string;
  kind: string;
  options: Options;
  transport: TransportAccess;
  log: DriverLogger;
  /** Publishes a device event (on the device's event topic); for drivers that report unsolicited news. */
  emitEvent?(type: string, details: Record<string, unknown>): void;
}

export interface DriverInstance {
  /** Read every configured input. Rejects with DeviceError when the device does not answer. */
  read(opts: RequestOptions): Promise<Readings>;
  /** Switch one named output on (energised) or off. */
  write(output: string, on: boolean, opts: RequestOptions): Promise<void>;
  /** Names of the outputs and inputs this instance has configured. */
  readonly outputs: readonly string[];
  readonly inputs: readonly string[];
  /**
   * For devices that act rather than switch points (cameras): run a named action. Rejects with
   * DeviceError; an unknown action is DeviceError('device_error') with notApplied.
   */
  perform?(action: string, args: Readonly<Record<string, string | number>>, opts: RequestOptions): Promise<ActionOutcome>;
  /**
   * For devices that report news by themselves (a camera's event service): listen until the
   * returned function is called (which resolves once the device was told to stop sending).
   */
  listen?(opts: ListenOptions, listener: NoticeListener): () => Promise<void>;
}

/**
 * Unsolicited news a device reports by itself (a camera's motion, tamper and alarm inputs), as a
 * driver that listens hands it to the device's kind. No MQTT, no gatehouse event names: the kind
 * decides what becomes an event.
 */
export interface DeviceNotice {
  /** A state the device keeps (`motion`, `tamper`, `input`), or `other` news. */
  subject: 'motion' | 'tamper' | 'input' | 'other';
  /** For a state: on or off. */
  active?: boolean;
  /** The state as it was when listening began, not a change. */
  initialized: boolean;
  /** Which one: a motion rule or zone, a tamper rule, an input's token; '' when the device did not say. */
  name: string;
  /** When it happened by the device's own clock, epoch ms; undefined when the device did not say. */
  deviceTime?: number;
  /** The device's clock minus ours, ms, as last measured. */
  clockOffsetMs: number;
  /** What the device said, bounded: for `other`, its topic and simple items. */
  details: Record<string, string>;
}

/** What a listening driver tells the kind besides notices: whether the device's news service is up. */
export interface NoticeListener {
  notice(notice: DeviceNotice): void;
  /** `subscribed`, or why not: `retrying` (with the reason), `unsupported`, `waiting` (device not up). */
  status(status: 'subscribed' | 'retrying' | 'unsupported' | 'waiting', reason?: string): void;
}

export interface ListenOptions {
  /** Only news on these topics (a topic and everything under it); absent: all. */
  topics?: readonly string[];
}

/** What an action produced: result data, and for a snapshot the image itself. */
export interface ActionOutcome {
  data?: Record<string, unknown>;
  image?: { bytes: Buffer; contentType: string; at: number };
}

export interface DriverDefinition<Options = unknown> {
  name: string;
  /** Transport types this driver runs over, e.g. `modbus-tcp`. */
  transports: readonly string[];
  /**
   * Validate the device's `options` for a device of `kind` needing `points`.
   * Report every problem (paths relative to `path`); return the normalised options when valid.
   */
  parseOptions(raw: unknown, points: PointSpec, path: string): { options?: Options; issues: ConfigIssue[] };
  /** Inert: no I/O happens until read() or write() is called. */
  create(ctx: DriverContext<Options>): DriverInstance;
  /** The actions its instances perform (DriverInstance.perform); kinds that need actions check this. */
  actions?: readonly string[];
}

export type DeviceErrorCode = 'timeout' | 'offline' | 'device_error';

/**
 * A failure talking to a device, with a stable code the command pipeline passes on. `notApplied`
 * says the request certainly did not take effect (it never reached the wire, or the device
 * refused it with an exception response); otherwise a write may have taken effect even though no
 * reply came back.
 */
export class DeviceError extends Error {
  readonly notApplied: boolean;

  constructor(
    readonly code: DeviceErrorCode,
    message: string,
    options?: { cause?: unknown; notApplied?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DeviceError';
    this.notApplied = options?.notApplied ?? false;
  }
}
