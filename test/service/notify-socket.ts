// systemd's side of sd_notify(3) for tests: a unix datagram socket bound in a temporary directory
// (unix-dgram, as the gateway uses), recording every notification with the time it arrived.
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createSocket } from 'unix-dgram';
import { makeTempDir, removeTempDir } from '../support/temp.js';

const DEFAULT_WAIT_MS = 20_000;

export interface Notification {
  /** Date.now() when the datagram arrived. */
  at: number;
  /** VARIABLE=VALUE lines of the datagram, in order. */
  fields: Map<string, string>;
  text: string;
}

export interface NotifySocket {
  /** The value for NOTIFY_SOCKET. */
  path: string;
  notifications: Notification[];
  /** Resolves with the first notification, past or future, that matches. */
  waitFor(what: string, pred: (n: Notification) => boolean, timeoutMs?: number): Promise<Notification>;
  /** Notifications with this variable, optionally at or after index `from`. */
  with(variable: string, from?: number): Notification[];
}

function parse(datagram: Buffer): Notification {
  const text = datagram.toString('utf8');
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return { at: Date.now(), fields, text };
}

/** Binds the socket; it is closed and its directory removed after the test. */
export function listenForNotifications(t: TestContext): NotifySocket {
  const dir = makeTempDir('notify');
  const path = join(dir, 'notify');
  const notifications: Notification[] = [];
  const waiters = new Set<{ pred(n: Notification): boolean; resolve(n: Notification): void }>();
  const socket = createSocket('unix_dgram', (datagram) => {
    const notification = parse(datagram);
    notifications.push(notification);
    if (process.env.GATEHOUSE_TEST_DEBUG) process.stderr.write(`[notify] ${JSON.stringify(notification.text)}\n`);
    for (const waiter of [...waiters]) if (waiter.pred(notification)) waiter.resolve(notification);
  });
  socket.on('error', (err) => {
    throw new Error(`notify socket ${path}: ${err.message}`);
  });
  socket.bind(path);
  t.after(() => {
    socket.close();
    removeTempDir(dir);
  });
  return {
    path,
    notifications,
    with: (variable, from = 0) => notifications.slice(from).filter((n) => n.fields.has(variable)),
    waitFor(what, pred, timeoutMs = DEFAULT_WAIT_MS) {
      const seen = notifications.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          pred,
          resolve: (n: Notification) => {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve(n);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const recent = notifications.slice(-10).map((n) => JSON.stringify(n.text));
          reject(new Error(`no notification "${what}" within ${timeoutMs} ms; last ones:\n  ${recent.join('\n  ') || '(none)'}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}
