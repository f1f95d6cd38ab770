// Stable error codes for the embedded broker.

export type BrokerErrorCode =
  | 'BROKER_NOT_STARTED'
  | 'BROKER_ALREADY_STARTED'
  | 'BROKER_INVALID_TOPIC'
  | 'BROKER_PUBLISH_FAILED'
  | 'BROKER_PUBLISH_DENIED'
  | 'BROKER_LISTEN_FAILED'
  | 'BROKER_NO_LISTENER'
  | 'BROKER_TLS_NOT_CONFIGURED'
  | 'BROKER_TLS_FILE_UNREADABLE'
  | 'BROKER_TLS_FILE_INVALID'
  /** aedes, mqemitter or aedes-persistence is not the version aedes-compat.ts was written for. */
  | 'BROKER_AEDES_INCOMPATIBLE';

export class BrokerError extends Error {
  readonly code: BrokerErrorCode;

  constructor(code: BrokerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BrokerError';
    this.code = code;
  }
}

export function isBrokerError(err: unknown, code?: BrokerErrorCode): err is BrokerError {
  return err instanceof BrokerError && (code === undefined || err.code === code);
}
