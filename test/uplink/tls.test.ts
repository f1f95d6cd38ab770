// The link over mutual TLS with a username and a password file (issue 3, "Link life"), against a
// mosquitto that requires a client certificate from its CA and a login.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { topics } from '../../src/topics.js';
import { clientAs, resultFor, sendCommand, topicOf, watch } from '../support/gateway.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { makePki, type TestPki } from './certificates.js';
import { startCloudBroker, type CloudBroker } from './cloud-broker.js';
import { cloudSubscriber } from './cloud-subscriber.js';
import { GATE_A, GATEWAY_ID, SITE, UNITS, startUplinkGateway, uniqueId, until, uplinkDataDir } from './uplink-harness.js';

const WAIT_MS = 15_000;
/** Log timestamps and timers may differ by a few ms. */
const CLOCK_TOLERANCE_MS = 5;

interface LogRecord {
  time: number;
  msg: string;
  err?: unknown;
  retry_in_ms?: number;
  delay_ms?: number;
}
const USER = { username: 'tower', password: 'cloud-secret-7' };

let device: ModbusDevice;
let pki: TestPki;
let cloud: CloudBroker;
before(async () => {
  device = await startModbusDevice({ units: UNITS });
  pki = makePki();
  cloud = await startCloudBroker({ users: [USER], tls: { ca: pki.ca, cert: pki.serverCert, key: pki.serverKey } });
});
after(async () => {
  await cloud?.dispose();
  pki?.dispose();
  await device?.stop();
});

function passwordFile(dir: string, password: string): string {
  const file = join(dir, 'cloud-password');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return file;
}

test('mutual TLS with a password file: the birth arrives over mqtts', async (t) => {
  assert.match(cloud.url, /^mqtts:\/\/localhost:/);
  const watcher = await cloudSubscriber({
    url: cloud.url,
    filters: [`site/${SITE}/gateway/#`],
    clientId: uniqueId('ops'),
    clean: true,
    tls: { ca: readFileSync(pki.ca), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) },
    ...USER,
  });
  t.after(() => watcher.close());
  const dataDir = uplinkDataDir(t);
  await startUplinkGateway(t, device, cloud.url, {
    dataDir,
    uplink: {
      username: USER.username,
      password_file: passwordFile(dataDir, USER.password),
      tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
    },
  });
  await watcher.waitFor('online over TLS', (ms) => ms.some((m) => m.topic === topics.gatewayAvailability(SITE, GATEWAY_ID) && m.text === 'online'), WAIT_MS);
});

test('a client certificate the broker does not trust: the link stays down, says why, and the gateway runs on', async (t) => {
  const dataDir = uplinkDataDir(t);
  const gw = await startUplinkGateway(t, device, cloud.url, {
    dataDir,
    uplink: { username: USER.username, password_file: passwordFile(dataDir, USER.password), tls: { ca: pki.ca, cert: pki.strangerCert, key: pki.strangerKey } },
  });
  const uplink = () => gw.gateway['uplink']!.stateFields().uplink;
  await until('a failed TLS attempt', () => uplink().state === 'waiting' && /unknown ca/i.test(uplink().last_error ?? ''), WAIT_MS);
  assert.equal(uplink().connection, 0);
  // The gateway runs on: a local command is carried out and answered.
  const local = await clientAs(t, gw.port, 'guard');
  const results = await watch(local, topicOf(GATE_A, 'result'));
  const id = uniqueId('local');
  await sendCommand(local, GATE_A, 'lock', { id });
  assert.equal((await resultFor(results, id)).status, 'ok');
  assert.equal(uplink().connection, 0, 'and the link is still down');
});

test('a wrong password: CONNACK refused, retried with backoff', async (t) => {
  const dataDir = uplinkDataDir(t);
  const records: LogRecord[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line) as LogRecord) });
  const gw = await startUplinkGateway(t, device, cloud.url, {
    dataDir,
    logger,
    uplink: { username: USER.username, password: 'wrong', tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } },
  });
  const uplink = () => gw.gateway['uplink']!.stateFields().uplink;
  // Each refusal schedules the next attempt: the first one warns, the retries log at debug level.
  const refusals = () => records.filter((r) => /^cloud link(?: cannot connect; retrying with backoff|: reconnecting after backoff)$/.test(r.msg));
  await until(() => `three refused logins in a row; logged: ${records.map((r) => r.msg).join(' | ')}`, () => refusals().length >= 3, WAIT_MS);
  const [first, ...retries] = refusals().slice(0, 3);
  assert.equal(first.msg, 'cloud link cannot connect; retrying with backoff');
  for (const r of [first, ...retries]) assert.match(String(r.err), /Not authorized|Bad User Name or Password/i);
  // Each retry came only after the delay announced before it (pino's `time` is in ms).
  const delays = [first.retry_in_ms, retries[0].delay_ms];
  for (let i = 0; i < 2; i++) {
    const announced = delays[i]!;
    assert.ok(announced > 0, `a delay was announced: ${JSON.stringify(first)}`);
    const gap = [first, ...retries][i + 1].time - [first, ...retries][i].time;
    assert.ok(gap >= announced - CLOCK_TOLERANCE_MS, `refusal ${i + 2} came ${gap} ms after refusal ${i + 1}; the backoff was ${announced} ms`);
  }
  assert.equal(uplink().connection, 0);
});
