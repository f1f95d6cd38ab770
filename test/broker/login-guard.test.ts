// The login guard: the failed-login lockout holds against guesses sent in parallel. Every
// CONNECT of a burst used to pass the lockout check before the first password check had failed,
// so a burst got one answer per connection, and the right password logged in after the lockout
// had started.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PACKET, RawClient, connectPacket, startBroker } from './support.js';

const GUESSES = 11;
const MAX_FAILURES = 3;

test('a burst of parallel guesses gets at most max_failures answers, and the right password sent in the burst does not log in', async (t) => {
  const { broker, port, lines } = await startBroker(t, {
    login: { maxFailuresPerAddress: MAX_FAILURES, maxFailuresPerUsername: MAX_FAILURES, windowMs: 600_000, lockoutMs: 600_000 },
  });
  const clients: RawClient[] = [];
  for (let i = 0; i <= GUESSES; i++) clients.push(await RawClient.open(t, port));
  // All CONNECTs in one go; the right password is the last one.
  clients.forEach((client, i) =>
    client.send(connectPacket({ clientId: `burst-${i}`, username: 'operator', password: i === GUESSES ? 'op-secret' : `guess-${i}` })),
  );
  const codes: number[] = [];
  for (const client of clients) codes.push((await client.next(PACKET.CONNACK, 60_000)).body[1]);

  // MQTT 3.1.1 table 3.1: 4 = bad user name or password (an answer), 5 = not authorized (locked out).
  const answered = codes.filter((code) => code === 4).length;
  assert.ok(answered <= MAX_FAILURES, `${answered} wrong passwords were answered with code 4 (codes ${codes.join(',')}); the lockout allows ${MAX_FAILURES}`);
  assert.equal(codes[GUESSES], 5, `the right password, sent after ${GUESSES} wrong ones, is refused as locked out (codes ${codes.join(',')})`);
  assert.deepEqual(lines.filter((l) => l.msg === 'mqtt login'), [], 'nobody logged in during the lockout');
  assert.ok(broker.securityCounters().lockouts >= 1);
});
