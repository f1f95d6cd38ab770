// Stable error codes of the cloud uplink.

export type UplinkErrorCode =
  /** A TLS or password file named in the config could not be read at start. */
  | 'UPLINK_FILE_UNREADABLE'
  /** The connection closed before the birth messages were acknowledged. */
  | 'UPLINK_BIRTH_FAILED'
  | 'UPLINK_NOT_STARTED';

export class UplinkError extends Error {
  readonly code: UplinkErrorCode;

  constructor(code: UplinkErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UplinkError';
    this.code = code;
  }
}
