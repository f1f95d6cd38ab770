// TLS handshake failures, reported with a bounded rate: a flood of failing handshakes (a scanner,
// a device with an expired certificate retrying every second) must not flood the log or the
// security journal. Per remote address (IPv6 per /64, as the login limiter groups them: one host
// commonly holds a whole /64, and must not fill the table alone), the first failure of each window is reported at once; the
// rest are counted and summarised in one log line when the window ends.
import type { Logger } from 'pino';
import { addressKey } from '../login-limiter.js';

export interface HandshakeFailure {
  /** Remote address without the port; failures are grouped by its addressKey(). */
  address: string;
  /** "address:port" of the connection. */
  peer: string;
  protocol: string;
  /** OpenSSL's reason, or the certificate verification error code (CERT_HAS_EXPIRED, ...). */
  reason: string;
}

export interface HandshakeFailureLogOptions {
  /** Length of a reporting window per address. */
  windowMs?: number;
  /** Address keys (IPv4 addresses, IPv6 /64s) tracked at once; failures from further ones are only counted together. */
  maxAddresses?: number;
  now?: () => number;
}

interface Window {
  startedAt: number;
  suppressed: number;
  reasons: Set<string>;
}

const MAX_REASONS_KEPT = 5;

export class HandshakeFailureLog {
  private readonly windows = new Map<string, Window>();
  private untracked = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(
    private readonly report: (failure: HandshakeFailure) => void,
    private readonly log: Logger,
    options: HandshakeFailureLogOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 60_000;
    this.maxAddresses = options.maxAddresses ?? 256;
    this.now = options.now ?? Date.now;
  }

  record(failure: HandshakeFailure): void {
    const now = this.now();
    const key = addressKey(failure.address);
    const open = this.windows.get(key);
    if (open && now - open.startedAt < this.windowMs) {
      open.suppressed += 1;
      if (open.reasons.size < MAX_REASONS_KEPT) open.reasons.add(failure.reason);
      return;
    }
    if (open) this.summarise(key, open);
    else if (this.windows.size >= this.maxAddresses) {
      this.untracked += 1;
      this.schedule();
      return;
    }
    this.windows.set(key, { startedAt: now, suppressed: 0, reasons: new Set() });
    this.schedule();
    this.report(failure);
  }

  /** Ends the windows that are over, logging what they suppressed. */
  sweep(): void {
    const now = this.now();
    for (const [address, window] of this.windows) {
      if (now - window.startedAt < this.windowMs) continue;
      this.summarise(address, window);
      this.windows.delete(address);
    }
    if (this.untracked > 0) {
      this.log.warn({ count: this.untracked, addresses: 'untracked' }, 'tls handshake failures from further addresses suppressed');
      this.untracked = 0;
    }
    if (this.windows.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** Logs every pending summary and stops the timer. */
  close(): void {
    for (const [address, window] of this.windows) this.summarise(address, window);
    this.windows.clear();
    this.sweep();
  }

  private summarise(address: string, window: Window): void {
    if (window.suppressed === 0) return;
    this.log.warn({ address, count: window.suppressed, reasons: [...window.reasons] }, 'tls handshake failures suppressed');
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(), this.windowMs);
    this.timer.unref();
  }
}
