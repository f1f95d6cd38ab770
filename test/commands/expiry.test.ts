// Expiry of a command (src/commands/expiry.ts) at its edges: exactly at the limit is still in time,
// one millisecond past is expired, and each rejection says by how much.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandEnvelope } from '../../src/commands/envelope.js';
import { checkClock, checkExpiry } from '../../src/commands/expiry.js';
import { CommandRejection } from '../../src/commands/result.js';

const policy = { maxAgeMs: 30_000, clockSkewMs: 2000 };
const envelope = (fields: Partial<CommandEnvelope>) => ({ id: 'c1', args: {}, ...fields }) as CommandEnvelope;
const rejected = (code: string, message: string) => (err: unknown) => err instanceof CommandRejection && err.code === code && err.message === message;

describe('command expiry', () => {
  it('a carrier deadline: in time at it, expired one ms past, saying how long it waited', () => {
    checkExpiry(envelope({}), 1000, 5000, policy, 5000);
    assert.throws(() => checkExpiry(envelope({}), 1000, 5001, policy, 5000), rejected('expired', 'command waited 4001 ms in the gateway; the expiry its sender gave it ran out 1 ms ago'));
    checkExpiry(envelope({}), 1000, 1_000_000, policy);
  });

  it('sent_at with ttl_ms: in time at ttl plus the skew allowance, expired one ms later', () => {
    const e = envelope({ sent_at: 10_000, ttl_ms: 500 });
    checkExpiry(e, 10_000, 12_500, policy);
    assert.throws(() => checkExpiry(e, 10_000, 12_501, policy), rejected('expired', 'command is 2501 ms old; it expired after 500 ms (+2000 ms clock skew allowance)'));
  });

  it('sent_at without ttl_ms ages against max_age_ms', () => {
    const e = envelope({ sent_at: 0 });
    checkExpiry(e, 0, 32_000, policy);
    assert.throws(() => checkExpiry(e, 0, 32_001, policy), rejected('expired', 'command is 32001 ms old; it expired after 30000 ms (+2000 ms clock skew allowance)'));
  });

  it('ttl_ms alone counts from receipt: in time at ttl_ms, expired one ms past', () => {
    const e = envelope({ ttl_ms: 300 });
    checkExpiry(e, 1000, 1300, policy);
    assert.throws(() => checkExpiry(e, 1000, 1301, policy), rejected('expired', 'command waited 301 ms in the gateway; its ttl_ms is 300'));
    checkExpiry(envelope({}), 0, 10_000_000, policy);
  });

  it('sent_at in the future beyond the skew allowance is a bad request naming the clock', () => {
    checkClock(envelope({ sent_at: 12_000 }), 10_000, policy);
    checkClock(envelope({}), 10_000, policy);
    assert.throws(() => checkClock(envelope({ sent_at: 12_001 }), 10_000, policy), rejected('bad_request', "sent_at is 2001 ms in the future (clock skew allowance 2000 ms); check the client's clock"));
    assert.throws(() => checkExpiry(envelope({ sent_at: 12_001 }), 10_000, 10_000, policy), rejected('bad_request', "sent_at is 2001 ms in the future (clock skew allowance 2000 ms); check the client's clock"));
    assert.equal(new CommandRejection('expired', 'x').name, 'CommandRejection');
  });
});
