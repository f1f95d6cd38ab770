// The security posture of configs as `gatehouse check` ends with it: the demo (anonymous reading,
// sample credentials), a hardened site (nothing to warn about), an exposed one (a warning for each
// opening), and a user whose new hash still hides a sample password.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { hashPassword } from '../../src/broker/password.js';
import { loadSampleCredentials } from '../../src/cli/sample-credentials.js';
import { formatPosture, securityPosture, type PostureItem } from '../../src/cli/security-posture.js';
import { formatIssues, loadConfig, type GatehouseConfig } from '../../src/config.js';
import { tempDir } from '../support/temp.js';

const samples = loadSampleCredentials();

function load(document: unknown): Readonly<GatehouseConfig> {
  const loaded = loadConfig({ document, env: {} });
  if (!loaded.ok) throw new Error(formatIssues(loaded.issues));
  return loaded.config;
}

function item(items: PostureItem[], subject: string): PostureItem {
  const found = items.find((i) => i.subject === subject);
  assert.ok(found, `no ${subject} line`);
  return found;
}

/** Readable files for the TLS settings; `gatehouse check` only checks that they can be read. */
function tlsFiles(t: TestContext): { cert: string; key: string; ca: string } {
  const dir = tempDir(t, 'posture');
  const files = { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), ca: join(dir, 'site-ca.pem') };
  for (const path of Object.values(files)) writeFileSync(path, 'placeholder\n');
  return files;
}

async function siteUser(username: string, password = `${username}-${process.pid}-${Math.random()}`): Promise<Record<string, unknown>> {
  return { username, password_hash: await hashPassword(password), publish: ['site/tower/gate/+/unlock'], subscribe: ['site/tower/#'] };
}

test('the demo: anonymous reading on loopback, its users\' shipped hashes with their passwords, the camera\'s sample password', async () => {
  const loaded = loadConfig({ file: 'config/demo.yaml', env: {} });
  assert.ok(loaded.ok);
  const items = await securityPosture(loaded.config, samples);
  assert.deepEqual(item(items, 'anonymous'), { subject: 'anonymous', text: 'ON: clients without a username may read site/demo/# and publish to nothing', warnings: [] });
  assert.equal(item(items, 'tcp').text, '127.0.0.1:1883 (loopback only), plain MQTT without TLS');
  assert.deepEqual(item(items, 'tcp').warnings, [], 'plain MQTT on loopback stays on this machine');
  assert.equal(item(items, 'tls').text, 'off');
  assert.equal(item(items, 'websocket').text, 'off');
  assert.equal(item(items, 'client certs').text, 'not used (no TLS listener)');
  assert.deepEqual(item(items, 'metrics'), { subject: 'metrics', text: '127.0.0.1:9464 (loopback only), HTTP without authentication (/metrics, /healthz, /status.json)', warnings: [] });
  assert.deepEqual(item(items, 'console'), {
    subject: 'console',
    text: "127.0.0.1:8080 (loopback only), HTTP without TLS; login with the broker's users and lockout, sessions end after 900 s idle and 43200 s in all; admins (broker view, commissioning): tech",
    warnings: [],
  });
  assert.equal(item(items, 'uplink').text, 'off');
  const users = item(items, 'users');
  assert.equal(users.text, '3 users: guard, display, tech');
  assert.deepEqual(users.warnings, [
    'users[0] (guard): password_hash copied from config/demo.yaml users[0] (guard), password "guard-demo": anyone with the gatehouse sources can log in as this user; set a new one with gatehouse passwd',
    'users[1] (display): password_hash copied from config/demo.yaml users[1] (display), password "display-demo": anyone with the gatehouse sources can log in as this user; set a new one with gatehouse passwd',
    'users[2] (tech): password_hash copied from config/demo.yaml users[2] (tech), password "tech-demo": anyone with the gatehouse sources can log in as this user; set a new one with gatehouse passwd',
    'transports.camera-sim.password is the one shipped in config/demo.yaml transports.camera-sim.password: give the device a password of its own',
  ]);
  const text = formatPosture(items);
  assert.ok(text.startsWith('security posture:\n  anonymous     ON: '), text);
  assert.ok(text.endsWith('\n4 warnings\n'), text);
});

test('a hardened site: TLS with required client certificates, wss, loopback metrics, mqtts uplink: no warnings', async (t) => {
  const files = tlsFiles(t);
  const config = load({
    site: 'tower',
    gateway_id: 'edge-1',
    broker: {
      host: '127.0.0.1',
      port: 1883,
      tls: { enabled: true, host: '0.0.0.0', port: 8883, ...files, client_certificates: 'required', identity_from: 'san_email' },
      ws: { enabled: true, host: '0.0.0.0', port: 8083, path: '/mqtt', tls: true },
    },
    users: [await siteUser('guard-desk'), await siteUser('panel')],
    metrics: { host: '::1', port: 9464 },
    uplink: { enabled: true, url: 'mqtts://cloud.example.net:8883', username: 'tower', password: 'a-long-cloud-secret', allow_commands: ['gate/unlock'] },
  });
  const items = await securityPosture(config, samples);
  assert.deepEqual(
    items.flatMap((i) => i.warnings),
    [],
  );
  assert.equal(item(items, 'anonymous').text, 'off: every client logs in as a user of the config');
  assert.equal(item(items, 'tcp').text, '127.0.0.1:1883 (loopback only), plain MQTT without TLS');
  assert.equal(item(items, 'tls').text, `0.0.0.0:8883 (every interface), MQTT over TLS (certificate ${files.cert})`);
  assert.equal(item(items, 'websocket').text, '0.0.0.0:8083 (every interface) path /mqtt, wss:// (TLS, the broker.tls certificate)');
  assert.equal(item(items, 'client certs').text, `required on TLS listeners: a certificate signed by ${files.ca} logs in, without a password, as the user its san_email names`);
  assert.equal(item(items, 'metrics').text, '[::1]:9464 (loopback only), HTTP without authentication (/metrics, /healthz, /status.json)');
  assert.equal(item(items, 'uplink').text, 'on: mqtts://cloud.example.net:8883, TLS, logs in with user tower; the cloud may send the commands gate/unlock');
  assert.equal(item(items, 'users').text, '2 users: guard-desk, panel');
  assert.ok(formatPosture(items).endsWith('\nno warnings\n'));
});

test('an exposed site: anonymous publishing beyond loopback, plain MQTT and ws on every interface, open metrics, plain uplink', async () => {
  const config = load({
    site: 'tower',
    broker: {
      host: '0.0.0.0',
      anonymous: { enabled: true, publish: ['site/tower/gate/+/unlock'], subscribe: ['site/tower/#'] },
      ws: { enabled: true, host: '0.0.0.0', port: 8083, tls: false },
    },
    users: [await siteUser('guard-desk')],
    metrics: { host: '0.0.0.0', port: 9464 },
    uplink: { enabled: true, url: 'mqtt://cloud.example.net:1883' },
  });
  const items = await securityPosture(config, samples);
  assert.equal(item(items, 'anonymous').text, 'ON: clients without a username may read site/tower/# and publish to site/tower/gate/+/unlock');
  assert.deepEqual(item(items, 'anonymous').warnings, [
    'clients without a username may publish to site/tower/gate/+/unlock: commands too, where a filter covers a command topic',
    'anyone who reaches tcp 0.0.0.0:1883, ws 0.0.0.0:8083 may read site/tower/# without logging in',
  ]);
  assert.match(item(items, 'tcp').warnings.join(), /cross the network unencrypted/);
  assert.equal(item(items, 'websocket').text, '0.0.0.0:8083 (every interface) path /mqtt, plain ws:// without TLS');
  assert.match(item(items, 'websocket').warnings.join(), /cross the network unencrypted/);
  assert.match(item(items, 'metrics').warnings.join(), /^the metrics listener has no authentication and listens beyond loopback/);
  assert.equal(item(items, 'uplink').text, 'on: mqtt://cloud.example.net:1883, plain MQTT without TLS, logs in with no credentials; the cloud may send no commands');
  assert.match(item(items, 'uplink').warnings.join(), /the cloud link is not encrypted/);
  assert.deepEqual(item(items, 'users').warnings, []);
  assert.ok(formatPosture(items).endsWith('\n6 warnings\n'));
});

test('a fresh hash of a sample password is found by trying the sample passwords; a camera or uplink password copied from the example too', async () => {
  const config = load({
    site: 'tower',
    users: [await siteUser('desk', 'guard-demo'), await siteUser('panel')],
    transports: { cam: { type: 'onvif', xaddr: 'http://192.0.2.10/onvif/device_service', user: 'admin', password: 'change-me' } },
    uplink: { url: 'mqtts://cloud.example.net:8883', username: 'tower', password: 'demo-camera' },
  });
  const warnings = item(await securityPosture(config, samples), 'users').warnings;
  assert.deepEqual(warnings, [
    'users[0] (desk): its password "guard-demo" is the sample one of config/demo.yaml (printed by `gatehouse demo`): anyone can log in as this user; set a new one with gatehouse passwd',
    'transports.cam.password is the one shipped in config/example-site.yaml transports.entrance-cam.password: give the device a password of its own',
    'uplink.password is the one shipped in config/demo.yaml transports.camera-sim.password',
  ]);
});
