// broker.limits.max_connections and the connect timeout hold on every listener from the moment a
// TCP connection is accepted. The TLS and WebSocket listeners used to hand a connection to the
// broker (and its counter) only after the TLS handshake or the HTTP upgrade, so sockets that never
// finish either were neither counted nor, on the WebSocket listener, timed out by the connect
// timeout (node's HTTP server gives a request 60 s and more).
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { after, test, type TestContext } from 'node:test';
import { TestPki, certificateSettings } from './listener-support.js';
import { WAIT_MS, startBroker, waitFor } from './support.js';

const pki = new TestPki();
after(() => pki.dispose());

type Kind = 'tcp' | 'tls' | 'ws';

/** What a slow or idle client sends first on each listener: nothing usable yet. */
const OPENING: Record<Kind, string> = {
  tcp: '',
  tls: '',
  // Half an upgrade request: the headers never end.
  ws: 'GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n',
};

async function brokerWith(t: TestContext, limits: { maxConnections?: number; connectTimeoutMs: number }) {
  const started = await startBroker(t, {
    limits,
    listeners: {
      tls: { enabled: true, host: '127.0.0.1', port: 0 },
      ws: { enabled: true, host: '127.0.0.1', port: 0 },
      certificates: certificateSettings(pki.value),
    },
  });
  const ports = started.broker.ports();
  return { ...started, portOf: (kind: Kind) => ports[kind]! };
}

async function openIdle(t: TestContext, port: number, opening: string): Promise<{ socket: Socket; closed: () => boolean }> {
  const socket = netConnect({ host: '127.0.0.1', port });
  let closed = false;
  socket.on('error', () => {});
  socket.once('close', () => (closed = true));
  t.after(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no TCP connection to ${port} within ${WAIT_MS} ms`)), WAIT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  if (opening) socket.write(opening);
  return { socket, closed: () => closed };
}

for (const kind of ['tcp', 'tls', 'ws'] as const) {
  test(`${kind}: sockets over max_connections are closed and logged even before the ${kind === 'tls' ? 'TLS handshake' : kind === 'ws' ? 'HTTP upgrade' : 'CONNECT'}`, async (t) => {
    const MAX = 2;
    const OPENED = 6;
    // A connect timeout far beyond the test: only the connection limit may close these sockets.
    const { lines, portOf } = await brokerWith(t, { maxConnections: MAX, connectTimeoutMs: 120_000 });
    const idle: { closed: () => boolean }[] = [];
    for (let i = 0; i < OPENED; i++) idle.push(await openIdle(t, portOf(kind), OPENING[kind]));
    await waitFor(`${OPENED - MAX} of ${OPENED} idle ${kind} sockets to be closed by the server`, () => idle.filter((s) => s.closed()).length >= OPENED - MAX);
    assert.ok(lines.some((l) => l.msg === 'connection refused: broker.limits.max_connections reached'), 'the refusal is logged');
  });

  test(`${kind}: a connection that sends nothing usable is closed after the connect timeout`, async (t) => {
    const { portOf } = await brokerWith(t, { connectTimeoutMs: 500 });
    const idle = await openIdle(t, portOf(kind), OPENING[kind]);
    // WAIT_MS is twenty times the connect timeout; node's HTTP server alone would wait 60 s or more.
    await waitFor(`the idle ${kind} socket to be closed after the 500 ms connect timeout`, () => idle.closed());
  });
}
