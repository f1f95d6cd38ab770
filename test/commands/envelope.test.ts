import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_PAYLOAD_BYTES, MAX_TTL_MS, parseEnvelope } from '../../src/commands/envelope.js';
import { checkExpiry } from '../../src/commands/expiry.js';
import { CommandRejection } from '../../src/commands/result.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('parseEnvelope', () => {
  it('accepts an empty payload as a command without arguments', () => {
    assert.deepEqual(parseEnvelope(new Uint8Array()), { ok: true, envelope: { args: {} } });
  });

  it('splits id, sent_at and ttl_ms from the arguments', () => {
    const parsed = parseEnvelope(bytes('{"id":"a-1","sent_at":1700000000000,"ttl_ms":5000,"duration_ms":3000}'));
    assert.deepEqual(parsed, { ok: true, envelope: { id: 'a-1', sent_at: 1700000000000, ttl_ms: 5000, args: { duration_ms: 3000 } } });
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['invalid JSON', bytes('{"id":'), /not valid JSON/],
    ['a JSON array', bytes('[1,2]'), /JSON object/],
    ['a JSON string', bytes('"unlock"'), /JSON object/],
    ['a JSON number', bytes('42'), /JSON object/],
    ['JSON null', bytes('null'), /JSON object/],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), /UTF-8/],
    ['an id that is not a string', bytes('{"id":12}'), /id must be/],
    ['an empty id', bytes('{"id":""}'), /id must be/],
    ['an id of 65 characters', bytes(JSON.stringify({ id: 'x'.repeat(65) })), /id must be/],
    ['an id with a space', bytes('{"id":"a b"}'), /id must be/],
    ['an id with a control character', bytes('{"id":"a\\u0000"}'), /id must be/],
    ['a negative sent_at', bytes('{"sent_at":-1}'), /sent_at/],
    ['a fractional sent_at', bytes('{"sent_at":1.5}'), /sent_at/],
    ['a string sent_at', bytes('{"sent_at":"now"}'), /sent_at/],
    ['a zero ttl_ms', bytes('{"ttl_ms":0}'), /ttl_ms/],
    ['a huge ttl_ms', bytes('{"ttl_ms":99999999999}'), /ttl_ms/],
    ['an oversized payload', bytes(JSON.stringify({ pad: 'x'.repeat(MAX_PAYLOAD_BYTES) })), /at most/],
  ];
  for (const [what, payload, message] of bad) {
    it(`rejects ${what}`, () => {
      const parsed = parseEnvelope(payload);
      assert.equal(parsed.ok, false);
      assert.match((parsed as { message: string }).message, message);
    });
  }

  it('keeps a valid id when another field is bad, so the result can be correlated', () => {
    const parsed = parseEnvelope(bytes('{"id":"k1","sent_at":"x"}'));
    assert.deepEqual(parsed.ok ? undefined : parsed.id, 'k1');
  });

  it('accepts each limit exactly: sent_at 0, ttl_ms 1 and the largest ttl_ms, a payload of the largest size', () => {
    assert.deepEqual(parseEnvelope(bytes('{"sent_at":0}')), { ok: true, envelope: { id: undefined, sent_at: 0, ttl_ms: undefined, args: {} } });
    assert.equal((parseEnvelope(bytes('{"ttl_ms":1}')) as { envelope: { ttl_ms: number } }).envelope.ttl_ms, 1);
    assert.equal((parseEnvelope(bytes(`{"ttl_ms":${MAX_TTL_MS}}`)) as { envelope: { ttl_ms: number } }).envelope.ttl_ms, MAX_TTL_MS);
    assert.equal(parseEnvelope(bytes(`{"ttl_ms":${MAX_TTL_MS + 1}}`)).ok, false);
    const frame = bytes('{"pad":""}').length;
    const largest = bytes(JSON.stringify({ pad: 'x'.repeat(MAX_PAYLOAD_BYTES - frame) }));
    assert.equal(largest.length, MAX_PAYLOAD_BYTES);
    assert.equal(parseEnvelope(largest).ok, true);
    const oneMore = bytes(JSON.stringify({ pad: 'x'.repeat(MAX_PAYLOAD_BYTES - frame + 1) }));
    assert.match((parseEnvelope(oneMore) as { message: string }).message, new RegExp(`payload is ${MAX_PAYLOAD_BYTES + 1} bytes; at most ${MAX_PAYLOAD_BYTES} allowed`));
  });

  it('accepts an id of exactly 64 printable characters', () => {
    const id = '~'.repeat(64);
    assert.deepEqual(parseEnvelope(bytes(JSON.stringify({ id }))), { ok: true, envelope: { id, sent_at: undefined, ttl_ms: undefined, args: {} } });
  });
});

describe('checkExpiry', () => {
  const policy = { maxAgeMs: 30_000, clockSkewMs: 2000 };
  const now = 1_800_000_000_000;
  const code = (fn: () => void) => {
    try {
      fn();
      return 'accepted';
    } catch (err) {
      assert.ok(err instanceof CommandRejection);
      return err.code;
    }
  };

  it('accepts a command without sent_at or ttl_ms', () => {
    assert.equal(code(() => checkExpiry({ args: {} }, now - 600_000, now, policy)), 'accepted');
  });
  it('uses max_age_ms when only sent_at is given, plus the skew allowance', () => {
    assert.equal(code(() => checkExpiry({ sent_at: now - 31_000, args: {} }, now, now, policy)), 'accepted');
    assert.equal(code(() => checkExpiry({ sent_at: now - 32_001, args: {} }, now, now, policy)), 'expired');
  });
  it('uses ttl_ms from sent_at when both are given', () => {
    assert.equal(code(() => checkExpiry({ sent_at: now - 4000, ttl_ms: 3000, args: {} }, now, now, policy)), 'accepted');
    assert.equal(code(() => checkExpiry({ sent_at: now - 5001, ttl_ms: 3000, args: {} }, now, now, policy)), 'expired');
  });
  it('measures ttl_ms from receipt when there is no sent_at (time spent in our queue)', () => {
    assert.equal(code(() => checkExpiry({ ttl_ms: 1000, args: {} }, now - 999, now, policy)), 'accepted');
    assert.equal(code(() => checkExpiry({ ttl_ms: 1000, args: {} }, now - 1001, now, policy)), 'expired');
  });
  it("checks a carrier's deadline (MQTT 5 message expiry) as well, with no clock skew allowance (it is on our clock)", () => {
    assert.equal(code(() => checkExpiry({ args: {} }, now - 500, now, policy, now)), 'accepted');
    assert.equal(code(() => checkExpiry({ args: {} }, now - 500, now, policy, now - 1)), 'expired');
    assert.equal(code(() => checkExpiry({ sent_at: now, ttl_ms: 60_000, args: {} }, now - 500, now, policy, now - 1)), 'expired', 'whichever runs out first');
    assert.equal(code(() => checkExpiry({ ttl_ms: 100, args: {} }, now - 500, now, policy, now + 60_000)), 'expired');
  });
  it('rejects a sent_at in the future beyond the skew allowance as a bad request', () => {
    assert.equal(code(() => checkExpiry({ sent_at: now + 1999, args: {} }, now, now, policy)), 'accepted');
    assert.equal(code(() => checkExpiry({ sent_at: now + 2001, args: {} }, now, now, policy)), 'bad_request');
  });
});
