export type SimulatorErrorCode =
  /** The options given to the constructor are unusable; the message lists every problem. */
  | 'invalid_options'
  /** A test or narration helper named a unit id the simulator does not serve. */
  | 'unknown_unit'
  /** A helper for one kind (door(), counters()) was called for a device of another kind. */
  | 'wrong_kind'
  /** The Modbus TCP server could not bind its address. */
  | 'listen_failed'
  /** start() was called while running. */
  | 'already_running';

export class SimulatorError extends Error {
  constructor(
    readonly code: SimulatorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SimulatorError';
  }
}
