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

export type CommandSource = 'local' | 'cloud';

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
