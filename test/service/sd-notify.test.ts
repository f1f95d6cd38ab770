// sd_notify(3) and the watchdog: the protocol pieces on their own, then the real gateway as a child
// process with NOTIFY_SOCKET and WATCHDOG_USEC set, this test playing systemd's side of the socket.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { parseNotifySocket, SdNotify, watchdogUsec } from '../../src/service/sd-notify.js';
import { statusLine } from '../../src/service/status-line.js';
import { isLog, siteFiles, spawnService } from '../support/gateway-process.js';
import { connectClient } from '../support/mqtt-client.js';
import { GATE_A, GATE_B, TURNSTILE, USERS, siteDevice } from '../support/site.js';
import { sleep, until } from '../support/wait.js';
import { listenForNotifications } from './notify-socket.js';

const WAIT_MS = 30_000;

function recordingLogger() {
  const lines: { level: 'info' | 'warn'; obj: object; msg?: string }[] = [];
  return {
    lines,
    info: (obj: object, msg?: string) => void lines.push({ level: 'info', obj, msg }),
    warn: (obj: object, msg?: string) => void lines.push({ level: 'warn', obj, msg }),
  };
}

test('NOTIFY_SOCKET: a path, an abstract name (@ is the leading NUL), or nothing', () => {
  assert.equal(parseNotifySocket(undefined), undefined);
  assert.equal(parseNotifySocket(''), undefined);
  assert.deepEqual(parseNotifySocket('/run/systemd/notify'), { kind: 'path', path: '/run/systemd/notify' });
  assert.deepEqual(parseNotifySocket('@/org/freedesktop/notify'), { kind: 'abstract', name: '\0/org/freedesktop/notify' });
  assert.equal(parseNotifySocket('run/notify')?.kind, 'invalid');
  assert.equal(parseNotifySocket(`/${'x'.repeat(200)}`)?.kind, 'invalid');
});

test('WATCHDOG_USEC is used only when WATCHDOG_PID is unset or names this process', () => {
  assert.equal(watchdogUsec({ WATCHDOG_USEC: '30000000' }, 42), 30_000_000);
  assert.equal(watchdogUsec({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42), 30_000_000);
  assert.equal(watchdogUsec({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '41' }, 42), undefined);
  assert.equal(watchdogUsec({ WATCHDOG_USEC: '0' }, 42), undefined);
  assert.equal(watchdogUsec({ WATCHDOG_USEC: 'soon' }, 42), undefined);
  assert.equal(watchdogUsec({}, 42), undefined);
});

test('fromEnvironment takes the variables out of the environment, so child processes do not inherit them', () => {
  const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '5000000', WATCHDOG_PID: '7', PATH: '/usr/bin' };
  const notify = SdNotify.fromEnvironment(recordingLogger(), env, 7);
  assert.equal(notify.watchdogUsec, 5_000_000);
  assert.deepEqual(env, { PATH: '/usr/bin' });
});

test('without NOTIFY_SOCKET every call is a no-op', async () => {
  const log = recordingLogger();
  const notify = SdNotify.fromEnvironment(log, {});
  await notify.start();
  notify.ready('online');
  notify.watchdog();
  notify.close();
  assert.equal(notify.enabled, false);
  assert.deepEqual(log.lines, []);
});

test('an abstract NOTIFY_SOCKET is refused with one warning, not sent to a wrong address', async () => {
  const log = recordingLogger();
  const notify = SdNotify.fromEnvironment(log, { NOTIFY_SOCKET: '@gatehouse-test' });
  await notify.start();
  notify.ready();
  assert.equal(notify.enabled, false);
  assert.equal(log.lines.length, 1);
  assert.match(log.lines[0].msg ?? '', /abstract NOTIFY_SOCKET names are not supported/);
});

test('the messages on the wire: READY, STATUS (only when changed), RELOADING with MONOTONIC_USEC, STOPPING, WATCHDOG', async (t) => {
  const manager = listenForNotifications(t);
  const log = recordingLogger();
  const notify = SdNotify.fromEnvironment(log, { NOTIFY_SOCKET: manager.path });
  await notify.start();
  t.after(() => notify.close());
  const before = process.hrtime.bigint() / 1000n;
  notify.status('starting');
  notify.status('starting');
  notify.ready('online: 3/3 devices,\n2 clients');
  notify.reloading('reloading configuration');
  notify.ready('online: 3/3 devices, 2 clients');
  notify.watchdog();
  notify.stopping('stopping');
  await manager.waitFor('STOPPING', (n) => n.fields.has('STOPPING'), 5000);
  assert.deepEqual(
    manager.notifications.map((n) => n.text.replace(/MONOTONIC_USEC=\d+/, 'MONOTONIC_USEC=N')),
    [
      'STATUS=starting\n',
      'READY=1\nSTATUS=online: 3/3 devices, 2 clients\n',
      'RELOADING=1\nMONOTONIC_USEC=N\nSTATUS=reloading configuration\n',
      'READY=1\nSTATUS=online: 3/3 devices, 2 clients\n',
      'WATCHDOG=1\n',
      'STOPPING=1\nSTATUS=stopping\n',
    ],
  );
  const monotonic = BigInt(manager.with('RELOADING')[0].fields.get('MONOTONIC_USEC')!);
  assert.ok(monotonic >= before && monotonic <= process.hrtime.bigint() / 1000n, 'MONOTONIC_USEC is CLOCK_MONOTONIC in microseconds');
});

test('a notify socket that goes away is logged once and never throws', async (t) => {
  const manager = listenForNotifications(t);
  const log = recordingLogger();
  const notify = SdNotify.fromEnvironment(log, { NOTIFY_SOCKET: manager.path });
  await notify.start();
  t.after(() => notify.close());
  notify.watchdog();
  await manager.waitFor('a ping', (n) => n.fields.has('WATCHDOG'), 5000);
  rmSync(manager.path);
  for (let i = 0; i < 5; i++) notify.watchdog();
  const warnings = log.lines.filter((l) => l.level === 'warn');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0].msg ?? '', /could not notify the service manager/);
});

test('the status line', () => {
  assert.equal(statusLine({ devices: { total: 3, online: 3 }, clients: 2, outbox: 0 }), 'online: 3/3 devices, 2 clients, outbox 0');
  assert.equal(statusLine({ devices: { total: 1, online: 0 }, clients: 1, outbox: null }), 'online: 0/1 device, 1 client');
});

// ---------------------------------------------------------------------------------------------
// The real gateway under a pretend systemd

const device = siteDevice({ reset: false });

/** WATCHDOG_USEC of 1 s: a ping every 500 ms. */
const WATCHDOG_USEC = 1_000_000;

const isSafeStateWrite = (unit: number) => (w: { unit: number; table: string; values: (boolean | number)[] }) => w.unit === unit && w.table === 'co' && w.values.every((v) => v === false);

test('READY=1 once the broker listens and every safe state is written; STATUS lines; WATCHDOG=1 while the loop runs, none while it is stopped; a dead device bus does not stop them', async (t) => {
  const manager = listenForNotifications(t);
  const site = await siteFiles(t, device.port);
  const writesBefore = device.writes.length;
  const gateway = spawnService(t, site.file, { env: { NOTIFY_SOCKET: manager.path, WATCHDOG_USEC: String(WATCHDOG_USEC) } });

  const starting = await manager.waitFor('STATUS=starting', (n) => n.fields.get('STATUS') === 'starting', WAIT_MS);
  const ready = await manager.waitFor('READY=1', (n) => n.fields.get('READY') === '1', WAIT_MS);
  // The broker accepts MQTT the moment READY arrives.
  const brokerPort = await gateway.brokerPort();
  const client = await connectClient({ port: brokerPort, ...USERS.guard });
  await client.endAsync();
  assert.ok(starting.at <= ready.at);
  assert.equal(ready.fields.get('STATUS'), 'online: 3/3 devices, 0 clients');
  // Every unit's safe state was on the device before READY was sent.
  for (const unit of [GATE_A.unit, GATE_B.unit, TURNSTILE.unit]) {
    const safe = device.writes.slice(writesBefore).find(isSafeStateWrite(unit));
    assert.ok(safe, `unit ${unit} got its safe state`);
    assert.ok(safe.t <= ready.at, `unit ${unit}'s safe state (${safe.t}) precedes READY=1 (${ready.at})`);
  }
  assert.equal(manager.with('READY').length, 1);
  await gateway.waitForLog('systemd notifications on', isLog('systemd notifications on'));

  // Heartbeats while healthy.
  const firstPings = manager.with('WATCHDOG').length;
  await until('three more pings', () => manager.with('WATCHDOG').length >= firstPings + 3, WAIT_MS);

  // SIGSTOP: from the manager's side exactly a stuck event loop; no timer runs, no ping comes.
  gateway.signal('SIGSTOP');
  const stoppedAt = Date.now();
  await sleep(4000);
  const contAt = Date.now();
  gateway.signal('SIGCONT');
  // A datagram sent just before the stop may be read by this (busy) test process a moment later.
  const duringStop = manager.with('WATCHDOG').filter((n) => n.at > stoppedAt + 1000 && n.at < contAt);
  assert.deepEqual(duringStop, [], 'no WATCHDOG=1 while the process was stopped');
  // After a stall longer than half the watchdog period the next ping is skipped, then pings resume.
  const stall = await gateway.waitForLog('the stall noticed', isLog('event loop stalled; watchdog ping skipped'));
  assert.ok((stall.lag_ms as number) > WATCHDOG_USEC / 2000);
  await manager.waitFor('a ping after the stall', (n) => n.fields.has('WATCHDOG') && n.at > contAt, WAIT_MS);

  // The device bus dies: devices go offline, the event loop is fine, the pings go on.
  await device.stop();
  t.after(() => device.restart());
  await manager.waitFor('STATUS with every device offline', (n) => n.fields.get('STATUS') === 'online: 0/3 devices, 0 clients', WAIT_MS);
  const offlineAt = Date.now();
  await until('pings with the bus dead', () => manager.with('WATCHDOG').filter((n) => n.at > offlineAt).length >= 3, WAIT_MS);

  gateway.signal('SIGTERM');
  const exit = await gateway.exit();
  assert.deepEqual(exit, { code: 0, signal: null });
  const stopping = manager.with('STOPPING');
  assert.equal(stopping.length, 1);
  assert.ok(manager.notifications.some((n) => n.fields.get('STATUS') === 'stopping: stopping devices'));
});

test('WATCHDOG_USEC without our pid in WATCHDOG_PID: notifications, but no pings', async (t) => {
  const manager = listenForNotifications(t);
  const site = await siteFiles(t, device.port);
  const gateway = spawnService(t, site.file, { env: { NOTIFY_SOCKET: manager.path, WATCHDOG_USEC: String(WATCHDOG_USEC), WATCHDOG_PID: '1' } });
  await manager.waitFor('READY=1', (n) => n.fields.get('READY') === '1', WAIT_MS);
  // Several watchdog periods.
  await sleep(2500);
  assert.deepEqual(manager.with('WATCHDOG'), []);
  gateway.signal('SIGTERM');
  assert.equal((await gateway.exit()).code, 0);
});
