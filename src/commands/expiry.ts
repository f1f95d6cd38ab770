import type { CommandEnvelope } from './envelope.js';
import { CommandRejection } from './result.js';

export interface ExpiryPolicy {
  /** Used as the ttl of a command that carries sent_at but no ttl_ms. */
  maxAgeMs: number;
  /** How far a client's clock may run ahead of or behind ours. */
  clockSkewMs: number;
}

/**
 * A command that waited somewhere (a cloud broker, a slow link, our own queue) must not act late.
 * With `sent_at` its age is measured from the client's clock, with `ttl_ms` alone from receipt.
 * `expiresAt` is a deadline the command's carrier gave it (an MQTT 5 Message Expiry Interval, on
 * our clock), checked in addition. Throws CommandRejection('expired' | 'bad_request').
 */
export function checkExpiry(envelope: CommandEnvelope, receivedAt: number, now: number, policy: ExpiryPolicy, expiresAt?: number): void {
  if (expiresAt !== undefined && now > expiresAt) {
    throw new CommandRejection('expired', `command waited ${now - receivedAt} ms in the gateway; the expiry its sender gave it ran out ${now - expiresAt} ms ago`);
  }
  if (envelope.sent_at !== undefined) {
    checkClock(envelope, now, policy);
    const ttl = envelope.ttl_ms ?? policy.maxAgeMs;
    const age = now - envelope.sent_at;
    if (age > ttl + policy.clockSkewMs) {
      throw new CommandRejection('expired', `command is ${age} ms old; it expired after ${ttl} ms (+${policy.clockSkewMs} ms clock skew allowance)`);
    }
  } else if (envelope.ttl_ms !== undefined) {
    const waited = now - receivedAt;
    if (waited > envelope.ttl_ms) {
      throw new CommandRejection('expired', `command waited ${waited} ms in the gateway; its ttl_ms is ${envelope.ttl_ms}`);
    }
  }
}

/** A `sent_at` in the future means a wrong client clock: a malformed command, not an expired one. */
export function checkClock(envelope: CommandEnvelope, now: number, policy: ExpiryPolicy): void {
  if (envelope.sent_at !== undefined && envelope.sent_at > now + policy.clockSkewMs) {
    throw new CommandRejection(
      'bad_request',
      `sent_at is ${envelope.sent_at - now} ms in the future (clock skew allowance ${policy.clockSkewMs} ms); check the client's clock`,
    );
  }
}
