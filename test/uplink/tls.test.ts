// The link over mutual TLS with a username and a password file (issue 3, "Link life"), against a
// mosquitto that requires a client certificate from its CA and a login.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { topics } from '../../src/topics.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { makePki, type TestPki } from './certificates.js';
import { startCloudBroker, type CloudBroker } from './cloud-broker.js';
import { cloudSubscriber } from './cloud-subscriber.js';
import { GATEWAY_ID, SITE, UNITS, startUplinkGateway, uniqueId, until, uplinkDataDir } from './uplink-harness.js';

const WAIT_MS = 15_000;
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
  assert.ok(gw.port > 0, 'the local broker is up');
});

test('a wrong password: CONNACK refused, retried with backoff', async (t) => {
  const dataDir = uplinkDataDir(t);
  const gw = await startUplinkGateway(t, device, cloud.url, {
    dataDir,
    uplink: { username: USER.username, password: 'wrong', tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } },
  });
  const uplink = () => gw.gateway['uplink']!.stateFields().uplink;
  await until('a refused login', () => /Not authorized|Bad User Name or Password/i.test(uplink().last_error ?? ''), WAIT_MS);
  assert.equal(uplink().connection, 0);
});
