// The bounded reporting of TLS handshake failures: first per address per window reported, the rest
// summarised when the window ends, addresses beyond the tracked number counted together.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HandshakeFailureLog, type HandshakeFailure } from '../../src/broker/listeners/handshake-failures.js';
import { captureLogger } from './support.js';

function failure(address: string, reason = 'CERT_HAS_EXPIRED'): HandshakeFailure {
  return { address, peer: `${address}:40000`, protocol: 'mqtt+tls', reason };
}

test('one report per address per window; the rest summarised with their reasons when the window ends', () => {
  let now = 0;
  const reported: HandshakeFailure[] = [];
  const { log, lines } = captureLogger();
  const failures = new HandshakeFailureLog((f) => reported.push(f), log, { windowMs: 60_000, now: () => now });
  for (let i = 0; i < 50; i++) failures.record(failure('192.0.2.1', i % 2 ? 'CERT_HAS_EXPIRED' : 'wrong version number'));
  failures.record(failure('192.0.2.2'));
  assert.deepEqual(reported.map((f) => f.address), ['192.0.2.1', '192.0.2.2']);
  now = 30_000;
  failures.sweep();
  assert.deepEqual(lines.filter((l) => l.msg === 'tls handshake failures suppressed'), [], 'the window is still open');
  now = 60_000;
  failures.sweep();
  const summaries = lines.filter((l) => l.msg === 'tls handshake failures suppressed');
  assert.deepEqual(summaries.map((l) => [l.address, l.count, l.reasons]), [['192.0.2.1', 49, ['CERT_HAS_EXPIRED', 'wrong version number']]]);
  // A new window: reported again.
  failures.record(failure('192.0.2.1'));
  assert.equal(reported.length, 3);
  failures.close();
});

test('past maxAddresses, failures from further addresses are only counted, and close() flushes every summary', () => {
  const reported: HandshakeFailure[] = [];
  const { log, lines } = captureLogger();
  const failures = new HandshakeFailureLog((f) => reported.push(f), log, { maxAddresses: 3, now: () => 0 });
  for (let i = 0; i < 10; i++) failures.record(failure(`198.51.100.${i}`));
  failures.record(failure('198.51.100.0'));
  assert.equal(reported.length, 3);
  failures.close();
  assert.deepEqual(lines.filter((l) => l.msg === 'tls handshake failures suppressed').map((l) => [l.address, l.count]), [['198.51.100.0', 1]]);
  assert.deepEqual(lines.filter((l) => l.msg === 'tls handshake failures from further addresses suppressed').map((l) => l.count), [7]);
});

test('IPv6 addresses are grouped per /64: one /64 takes one slot, however many of its addresses fail', () => {
  const reported: HandshakeFailure[] = [];
  const { log, lines } = captureLogger();
  const failures = new HandshakeFailureLog((f) => reported.push(f), log, { maxAddresses: 2, now: () => 0 });
  // More addresses of one /64 than the table holds, as a host with its own /64 can use.
  for (let i = 1; i <= 300; i++) failures.record(failure(`2001:db8:1:2::${i.toString(16)}`));
  failures.record(failure('2001:db8:1:3::1'));
  failures.record(failure('192.0.2.7'));
  assert.deepEqual(reported.map((f) => f.address), ['2001:db8:1:2::1', '2001:db8:1:3::1'], 'the first failure of each /64 is reported with its own address');
  failures.close();
  assert.deepEqual(
    lines.filter((l) => l.msg === 'tls handshake failures suppressed').map((l) => [l.address, l.count]),
    [['2001:db8:1:2::/64', 299]],
  );
  assert.deepEqual(lines.filter((l) => l.msg === 'tls handshake failures from further addresses suppressed').map((l) => l.count), [1], 'only the IPv4 address found the table full');
});
