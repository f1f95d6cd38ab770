// The config view after a reload: the running config with secrets redacted, the variables it
// came from by name only, the reload's outcome (applied or rejected); a user the reload removed is
// logged out at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadHarnessConfig, siteDevice } from '../../support/site.js';
import { Browser, startConsoleGateway, USERS } from './support.js';

describe('console config view and reloads', () => {
  const device = siteDevice();

  it('shows the reload outcome and ends the sessions of a removed user', async (t) => {
    let document: Record<string, any> = {};
    const gw = await startConsoleGateway(t, device, {}, (doc) => (document = doc));
    const guard = new Browser(gw.base);
    const viewer = new Browser(gw.base);
    assert.equal((await guard.login(USERS.guard.username, USERS.guard.password)).status, 200);
    assert.equal((await viewer.login(USERS.viewer.username, USERS.viewer.password)).status, 200);
    const before = await guard.get('/api/config');
    assert.equal(before.json.last_reload, null);
    assert.ok(Array.isArray(before.json.source.env) && Array.isArray(before.json.source.files));
    assert.ok(before.json.config.users.every((u: { password_hash: string }) => u.password_hash === '[redacted]'));

    const next = structuredClone(document);
    next.users = next.users.filter((u: { username: string }) => u.username !== USERS.viewer.username);
    await gw.gateway.reload(loadHarnessConfig(next));
    const after = await guard.get('/api/config');
    assert.equal(after.json.last_reload.outcome, 'applied');
    assert.equal(after.json.last_reload.changes.access, true);
    assert.deepEqual(after.json.config.users.map((u: { username: string }) => u.username), [USERS.guard.username]);
    const gone = await viewer.get('/api/overview');
    assert.equal(gone.status, 401, gone.text);

    // A rejected reload (what `gatehouse run` reports on SIGHUP with an invalid file).
    gw.gateway.reloadFailed(['devices[gate-a].unlock_ms: must be between 100 and 60000, got 5']);
    const rejected = await guard.get('/api/config');
    assert.equal(rejected.json.last_reload.outcome, 'rejected');
    assert.deepEqual(rejected.json.last_reload.errors, ['devices[gate-a].unlock_ms: must be between 100 and 60000, got 5']);
  });
});
