// The one terminal result every command gets (DESIGN.md section 2).

export const RESULT_CODES = [
  'bad_request',
  'unknown_device',
  'unknown_command',
  'forbidden',
  'expired',
  'offline',
  'busy',
  'timeout',
  'device_error',
] as const;
export type ResultCode = (typeof RESULT_CODES)[number];

/** local: an MQTT client of the embedded broker; cloud: the uplink; link: a `links` entry of the config; console: a logged-in user of the technician console. */
export type CommandSource = 'local' | 'cloud' | 'link' | 'console';
export const COMMAND_SOURCES: readonly CommandSource[] = ['local', 'cloud', 'link', 'console'];

/** The device event that made a link run a command (results of source `link` only). */
export interface CommandTrigger {
  /** The link's `name`, or `links[i]`. */
  link: string;
  /** Which command of the link's `run` list this is, from 0. */
  step: number;
  kind: string;
  device: string;
  event: string;
  /** When the event was emitted, epoch ms. */
  at: number;
}

export interface ResultTiming {
  received_at: number;
  started_at?: number;
  finished_at: number;
  queued_ms?: number;
  run_ms?: number;
  total_ms: number;
}

export interface CommandResult {
  id: string;
  command: string;
  status: 'ok' | 'error';
  code?: ResultCode;
  message: string;
  source: CommandSource;
  kind: string;
  device: string;
  /** What the device reported back, e.g. `unlocked_until`. */
  data?: Record<string, unknown>;
  duplicate?: true;
  /** Present when source is `link`. */
  trigger?: CommandTrigger;
  timing: ResultTiming;
}

/** A rejection with a stable code, thrown inside the pipeline and turned into a result. */
export class CommandRejection extends Error {
  constructor(
    readonly code: ResultCode,
    message: string,
  ) {
    super(message);
    this.name = 'CommandRejection';
  }
}
