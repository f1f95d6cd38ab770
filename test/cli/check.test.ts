// `gatehouse check`: one validation that reports every problem at once, each naming its key path;
// for a valid config, its devices and its security posture.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { hashPassword } from '../../src/broker/password.js';
import { runCli } from '../support/cli-process.js';
import { tempDir } from '../support/temp.js';

const DEMO = 'config/demo.yaml';

function writeConfig(t: TestContext, text: string): string {
  const dir = tempDir(t, 'check');
  const file = join(dir, 'site.yaml');
  writeFileSync(file, text);
  return file;
}

test('check on the demo config exits 0 and lists its 5 devices', async () => {
  const run = await runCli(['check', '--config', DEMO]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /ok/);
  assert.match(run.stdout, /5 device\(s\)/);
  for (const id of ['main-gate', 'garage-gate', 'lobby-turnstile', 'lobby-cam', 'garage-barrier']) assert.match(run.stdout, new RegExp(`\\b${id}\\b`));
  const deviceLines = run.stdout.split('\n').filter((line) => /^\s+(gate|turnstile|camera|barrier)\s/.test(line));
  assert.equal(deviceLines.length, 5);
});

test('check ends with the security posture: the demo\'s anonymous reading and its public sample credentials', async () => {
  const run = await runCli(['check', '--config', DEMO]);
  assert.equal(run.code, 0, run.stderr);
  const posture = run.stdout.slice(run.stdout.indexOf('\n\nsecurity posture:\n') + 2);
  const subjects = posture.split('\n').flatMap((line) => /^ {2}(\S+(?: certs)?) {2,}/.exec(line)?.[1] ?? []);
  assert.deepEqual(subjects, ['anonymous', 'tcp', 'tls', 'websocket', 'client certs', 'metrics', 'console', 'uplink', 'users']);
  assert.match(posture, /\n {2}anonymous +ON: clients without a username may read site\/demo\/# and publish to nothing\n/);
  assert.match(posture, /\n {2}metrics +127\.0\.0\.1:9464 \(loopback only\), HTTP without authentication/);
  assert.match(posture, /WARNING: users\[0\] \(guard\): password_hash copied from config\/demo\.yaml users\[0\] \(guard\), password "guard-demo"/);
  assert.match(posture, /WARNING: users\[1\] \(display\): password_hash copied from config\/demo\.yaml/);
  assert.match(posture, /WARNING: users\[2\] \(tech\): password_hash copied from config\/demo\.yaml users\[2\] \(tech\), password "tech-demo"/);
  assert.match(posture, /\n {2}console +127\.0\.0\.1:8080 \(loopback only\), HTTP without TLS; login with the broker's users and lockout, .*admins \(broker view, commissioning\): tech\n/);
  assert.match(posture, /WARNING: transports\.camera-sim\.password is the one shipped in config\/demo\.yaml/);
  assert.ok(posture.endsWith('\n4 warnings\n'), posture);
});

test('a site with its own passwords on loopback: the posture has no warnings', async (t) => {
  const hash = await hashPassword(`guard-${process.pid}-${Date.now()}`);
  const file = writeConfig(t, `
site: tower
broker: { host: 127.0.0.1, port: 1883 }
users:
  - username: guard
    password_hash: "${hash}"
    publish: ["site/tower/gate/+/unlock"]
    subscribe: ["site/tower/#"]
`);
  const run = await runCli(['check', '--config', file]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /\n {2}anonymous +off: every client logs in as a user of the config\n/);
  assert.match(run.stdout, /\n {2}users +1 user: guard\n/);
  assert.doesNotMatch(run.stdout, /WARNING/);
  assert.ok(run.stdout.endsWith('\nno warnings\n'), run.stdout);
});

test('a console beyond loopback without TLS is a warning naming the fix', async (t) => {
  const hash = await hashPassword(`guard-${process.pid}-${Date.now()}`);
  const plain = writeConfig(t, `
site: tower
broker: { host: 127.0.0.1, port: 1883 }
console: { enabled: true, host: 0.0.0.0, port: 8443 }
users:
  - username: guard
    password_hash: "${hash}"
    publish: ["site/tower/gate/+/unlock"]
    subscribe: ["site/tower/#"]
    roles: [admin]
`);
  const run = await runCli(['check', '--config', plain]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /\n {2}console +0\.0\.0\.0:8443 \(every interface\), HTTP without TLS; .*admins \(broker view, commissioning\): guard\n/);
  assert.match(run.stdout, /WARNING: the console listens beyond loopback without TLS/);
  assert.ok(run.stdout.endsWith('\n1 warning\n'), run.stdout);
});

// Each line carries one problem; the comment names the key path it must be reported under.
const BROKEN = `
site: hq
colour: blue                                  # colour: unknown key
gateway_id: "Bad Id!"                         # gateway_id: bad id
users:
  - username: guard
    password_hash: correct-horse-battery      # users[guard].password_hash: plaintext
    publish: ["site/hq/#/bad"]                # users[guard].publish[0]: bad ACL filter
    subscribe: ["site/+x"]                    # users[guard].subscribe[0]: bad ACL filter
transports:
  plc: { type: modbus-tcp, host: 127.0.0.1, port: 502 }
devices:
  - id: gate-1
    kind: gate
    driver: modbus
    transport: plc
    options: { unit: 1, outputs: { unlock: { coil: 0 } }, speed: 9 }   # devices[gate-1].options.speed: unknown driver option
  - id: gate-1                                # devices[1].id: duplicate (the second gate-1 keeps its index)
    kind: gate
    driver: modbus
    transport: nowhere                        # devices[1].transport: missing transport
    options: { unit: 2, outputs: { unlock: { coil: 0 } } }
  - id: BAD ID                                # devices[2].id: bad id
    kind: gate
    driver: modbus
    transport: plc
    options: { unit: 3, outputs: { unlock: { coil: 0 } } }
`;

const EXPECTED_PATHS = [
  'colour',
  'gateway_id',
  'users[guard].password_hash',
  'users[guard].publish[0]',
  'users[guard].subscribe[0]',
  'devices[gate-1].options.speed',
  'devices[1].id',
  'devices[1].transport',
  'devices[2].id',
];

test('check on a config with many problems exits non-zero and names every key path at once', async (t) => {
  const file = writeConfig(t, BROKEN);
  const run = await runCli(['check', '--config', file]);
  assert.notEqual(run.code, 0);
  assert.equal(run.stdout, '', 'nothing is listed for an invalid config');
  const reported = run.stderr
    .split('\n')
    .map((line) => /^\s+(\S+): /.exec(line)?.[1])
    .filter((path): path is string => path !== undefined);
  for (const path of EXPECTED_PATHS) assert.ok(reported.includes(path), `${path} is reported; stderr:\n${run.stderr}`);
  assert.match(run.stderr, new RegExp(`${EXPECTED_PATHS.length} problems`));
  assert.match(run.stderr, /duplicate device id "gate-1"/);
  assert.match(run.stderr, /no transport named "nowhere"/);
  assert.match(run.stderr, /plaintext/);
});

test('an environment override is validated too: GATEHOUSE_BROKER_PORT=abc names broker.port', async () => {
  const run = await runCli(['check', '--config', DEMO], { env: { GATEHOUSE_BROKER_PORT: 'abc' } });
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /^\s+broker\.port: /m);
  const good = await runCli(['check', '--config', DEMO], { env: { GATEHOUSE_BROKER_PORT: '2883' } });
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /127\.0\.0\.1:2883/);
});

test('check without --config exits 2; an unreadable file is named', async (t) => {
  const missingFlag = await runCli(['check']);
  assert.equal(missingFlag.code, 2);
  assert.match(missingFlag.stderr, /--config/);
  const dir = tempDir(t, 'check');
  const missingFile = await runCli(['check', '--config', join(dir, 'absent.yaml')]);
  assert.notEqual(missingFile.code, 0);
  assert.match(missingFile.stderr, /absent\.yaml/);
});
