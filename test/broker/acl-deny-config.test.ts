// Deny filters in the config: validated like the allow lists (each error names the user and the
// key), shown in `gatehouse check`'s security posture, explained in `gatehouse status`, and in the
// real gateway: a command under a deny filter gets `forbidden` from the pipeline, and a reload
// that adds a deny filter applies to the connected client at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword } from '../../src/broker/password.js';
import { refusalHint } from '../../src/cli/refusal-hint.js';
import { loadSampleCredentials } from '../../src/cli/sample-credentials.js';
import { formatPosture, securityPosture } from '../../src/cli/security-posture.js';
import { loadConfig } from '../../src/config.js';
import { clientAs, commandTopic, resultFor, startGatewayFrom, tempDataDir, uniqueId, watch, writesOf } from '../support/gateway.js';
import { connectClient } from '../support/mqtt-client.js';
import { GATE_A, GATE_B, SITE, configDocument, loadHarnessConfig, siteDevice } from '../support/site.js';

const HASH = hashPassword('deny-config-secret');

async function documentWith(users: unknown[], anonymous: Record<string, unknown> = { enabled: false }): Promise<Record<string, unknown>> {
  return { site: SITE, broker: { host: '127.0.0.1', port: 0, anonymous }, users, metrics: { enabled: false } };
}

test('a bad deny filter is a config error naming the user and the key; a good one is kept', async () => {
  const hash = await HASH;
  const bad = loadConfig({
    document: await documentWith(
      [
        { username: 'guard', password_hash: hash, subscribe: ['site/hq/#'], deny: ['site/hq/#/image', 7] },
        { username: 'kiosk', password_hash: hash, deny: 'site/hq/#' },
        { username: 'typo', password_hash: hash, denny: ['a'] },
      ],
      { enabled: true, subscribe: ['#'], deny: ['a+'] },
    ),
    env: {},
  });
  assert.equal(bad.ok, false);
  if (bad.ok) return;
  const byPath = new Map(bad.issues.map((i) => [i.path, i.message]));
  assert.match(byPath.get('users[guard].deny[0]') ?? '', /"site\/hq\/#\/image"/);
  assert.match(byPath.get('users[guard].deny[1]') ?? '', /must be a string/);
  assert.match(byPath.get('users[kiosk].deny') ?? '', /must be a list of MQTT topic filters/);
  assert.match(byPath.get('users[typo].denny') ?? '', /did you mean "deny"/);
  assert.match(byPath.get('broker.anonymous.deny') ?? '', /"a\+"/);

  const good = loadConfig({ document: await documentWith([{ username: 'guard', password_hash: hash, subscribe: ['site/hq/#'], deny: ['site/hq/camera/+/image'] }, { username: 'plain', password_hash: hash }]), env: {} });
  assert.ok(good.ok);
  if (!good.ok) return;
  assert.deepEqual(good.config.users.map((u) => u.deny), [['site/hq/camera/+/image'], []]);
  assert.deepEqual(good.config.broker.anonymous.deny, []);
});

test('gatehouse check\'s security posture names the deny filters of users and of anonymous access', async () => {
  const hash = await HASH;
  const loaded = loadConfig({
    document: await documentWith([{ username: 'guard', password_hash: hash, subscribe: ['site/hq/#'], deny: ['site/hq/camera/+/image'] }], { enabled: true, subscribe: ['site/hq/#'], deny: ['site/hq/+/+/result'] }),
    env: {},
  });
  assert.ok(loaded.ok);
  if (!loaded.ok) return;
  const text = formatPosture(await securityPosture(loaded.config, loadSampleCredentials()));
  assert.match(text, /anonymous +ON: clients without a username may read site\/hq\/# and publish to nothing, never site\/hq\/\+\/\+\/result \(deny\)/);
  assert.match(text, /users +1 user: guard; deny filters: guard never site\/hq\/camera\/\+\/image/);
});

test('gatehouse status explains a refusal by a deny filter', () => {
  assert.equal(refusalHint({ type: 'subscribe_denied', topic: 'site/hq/camera/c1/image', reason: 'acl_deny', username: 'guard' }, 'hq'), 'a filter of the deny list of user guard in the config covers it');
  assert.equal(refusalHint({ type: 'publish_denied', topic: 'lobby/staff', reason: 'acl_deny' }, 'hq'), 'a filter of broker.anonymous.deny in the config covers it');
});

const device = siteDevice();
const GUARD = { username: 'deny-guard', password: 'deny-guard-secret' };

test('gateway: a command under a deny filter is answered forbidden and never reaches the device; a reload adds one at once', async (t) => {
  const document = await configDocument(device.port, tempDataDir(t));
  const guardUser = { username: GUARD.username, password_hash: await hashPassword(GUARD.password), publish: [`site/${SITE}/#`], subscribe: [`site/${SITE}/#`], deny: [commandTopic(GATE_B, 'unlock')] };
  document.users = [...(document.users as unknown[]), guardUser];
  const gw = await startGatewayFrom(t, document);
  const client = await connectClient({ port: gw.port, ...GUARD });
  t.after(() => client.endAsync(true));
  const results = await watch(client, `site/${SITE}/gate/+/result`);
  const mark = device.writes.length;

  const denied = uniqueId('denied');
  await client.publishAsync(commandTopic(GATE_B, 'unlock'), JSON.stringify({ id: denied }), { qos: 1 });
  const refused = await resultFor(results, denied);
  assert.equal(refused.code, 'forbidden');
  const allowed = uniqueId('allowed');
  await client.publishAsync(commandTopic(GATE_A, 'unlock'), JSON.stringify({ id: allowed, duration_ms: 100 }), { qos: 1 });
  assert.equal((await resultFor(results, allowed)).status, 'ok');
  assert.deepEqual(writesOf(device, GATE_B.unit, mark), [], 'the denied command wrote nothing');

  await gw.gateway.reload(loadHarnessConfig({ ...document, users: [...(document.users as unknown[]).slice(0, -1), { ...guardUser, deny: [...guardUser.deny, `site/${SITE}/gate/${GATE_A.id}/+`] }] }));
  assert.equal(client.connected, true, 'a changed access list keeps the connection');
  // gate-a's result topic is denied now as well: an observer with the whole site sees the answer,
  // the guard does not; a later result of gate-b, which it still receives, ends the check.
  const observer = await clientAs(t, gw.port, 'guard');
  const observed = await watch(observer, `site/${SITE}/gate/+/result`);
  const after = uniqueId('after-reload');
  await client.publishAsync(commandTopic(GATE_A, 'lock'), JSON.stringify({ id: after }), { qos: 1 });
  assert.equal((await resultFor(observed, after)).code, 'forbidden');
  const sentinel = uniqueId('sentinel');
  await client.publishAsync(commandTopic(GATE_B, 'lock'), JSON.stringify({ id: sentinel }), { qos: 1 });
  assert.equal((await resultFor(results, sentinel)).status, 'ok');
  assert.equal(results.messages.some((m) => m.payload.toString().includes(after)), false, 'gate-a results no longer reach the guard');
});
