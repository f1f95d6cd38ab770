import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientSessions, newClientSession } from '../../src/broker/client-session.js';

const session = () => newClientSession({ peer: '192.0.2.7:1', protocol: 'mqtt+tcp' }, () => 0);

test('a client id stays attached while any of its logged-in connections is open', () => {
  const sessions = new ClientSessions();
  const first = { id: 'panel' };
  const second = { id: 'panel' };
  sessions.set(first, session());
  sessions.set(second, session());
  sessions.attach(first, sessions.get(first)!);
  sessions.attach(second, sessions.get(second)!);
  sessions.detach(first);
  assert.equal(sessions.attached('panel'), true);
  sessions.detach(second);
  assert.equal(sessions.attached('panel'), false);
});

test('a connection that closed while its password was checked is not attached by the late login', () => {
  const sessions = new ClientSessions();
  const client = { id: 'slow' };
  const s = session();
  sessions.set(client, s);
  sessions.detach(client);
  sessions.attach(client, s);
  assert.equal(sessions.attached('slow'), false);
  assert.equal(s.attached, false);
});

test('an unknown connection has peer "unknown"', () => {
  const sessions = new ClientSessions();
  assert.equal(sessions.peerOf(null), 'unknown');
  assert.equal(sessions.peerOf({ id: 'x' }), 'unknown');
});
