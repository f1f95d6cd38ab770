// Session bookkeeping with a clock of its own: idle and absolute expiry (the live feed's lookups do
// not count as activity), the end listeners, the CSRF comparison and the cookie parsing.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { clearedCookie, csrfMatches, sessionCookie, sessionIdFrom, SessionStore, type ConsoleSession } from '../../../src/console/server/sessions.js';

it('ends a session idle for idleMs, or maxMs after its login however active, and tells the listeners once', () => {
  let now = 1_000_000;
  const store = new SessionStore(() => ({ idleMs: 1000, maxMs: 3000 }), () => now);
  const ended: [string, string][] = [];
  store.onEnded((s, why) => ended.push([s.username, why]));
  const active = store.create('guard');
  const idle = store.create('viewer');
  for (let step = 0; step < 5; step++) {
    now += 500;
    assert.equal(store.find(active.id, true)?.username, 'guard', `active at +${500 * (step + 1)} ms`);
    // Lookups without touch (the live feed) do not keep the idle one alive.
    store.find(idle.id, false);
  }
  assert.equal(store.find(idle.id, true), undefined, 'idle for 2500 ms');
  now += 500;
  assert.equal(store.find(active.id, true), undefined, 'past the absolute limit');
  assert.deepEqual(ended, [['viewer', 'expired'], ['guard', 'expired']]);
  const swept = store.create('tech');
  now += 1000;
  store.sweep();
  assert.equal(store.find(swept.id, true), undefined);
  const out = store.create('tech');
  store.end(out, 'logout');
  store.end(out, 'logout');
  assert.deepEqual(ended.slice(-2), [['tech', 'expired'], ['tech', 'logout']]);
});

it('compares CSRF tokens exactly and reads only the session cookie', () => {
  const session = { csrf: 'abc123' } as ConsoleSession;
  assert.equal(csrfMatches(session, 'abc123'), true);
  for (const sent of [undefined, '', 'abc12', 'abc1234', 'ABC123', ['abc123']]) assert.equal(csrfMatches(session, sent as string | undefined), false, String(sent));
  assert.equal(sessionIdFrom('a=1; gatehouse_session=xyz; b=2'), 'xyz');
  assert.equal(sessionIdFrom('gatehouse_session_other=xyz'), undefined);
  assert.equal(sessionIdFrom(undefined), undefined);
  assert.match(sessionCookie('id', true, 60), /^gatehouse_session=id; HttpOnly; SameSite=Strict; Path=\/; Max-Age=60; Secure$/);
  assert.doesNotMatch(sessionCookie('id', false, 60), /Secure/);
  assert.match(clearedCookie(false), /Max-Age=0/);
});
