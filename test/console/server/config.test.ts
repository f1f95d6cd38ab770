// The `console` section and users' roles: defaults, the rules across keys, and errors that name
// the key and the user.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import { demo, expectIssue, issuesOf } from '../../config/support.js';

describe('console config', () => {
  it('is off by default on loopback, and on in the demo with an admin user', () => {
    const plain = loadConfig({ document: { site: 'x' }, env: {} });
    assert.ok(plain.ok);
    assert.deepEqual({ enabled: plain.config.console.enabled, host: plain.config.console.host }, { enabled: false, host: '127.0.0.1' });
    const shipped = loadConfig({ document: demo(), env: {} });
    assert.ok(shipped.ok, JSON.stringify(!shipped.ok && shipped.issues));
    assert.equal(shipped.config.console.enabled, true);
    assert.equal(shipped.config.console.host, '127.0.0.1');
    assert.deepEqual(shipped.config.users.find((u) => u.username === 'tech')?.roles, ['admin']);
    const fromEnv = loadConfig({ document: demo(), env: { GATEHOUSE_CONSOLE_PORT: '0' } });
    assert.ok(fromEnv.ok);
    assert.equal(fromEnv.config.console.port, 0);
  });

  it('names the user of an unknown role, and refuses a role list that is not a list', () => {
    const doc = demo();
    doc.users[0].roles = ['admn'];
    doc.users[1].roles = 'admin';
    const issues = issuesOf(doc);
    expectIssue(issues, 'users[guard].roles[0]', /unknown role "admn".*admin/);
    expectIssue(issues, 'users[display].roles', /must be a list of roles/);
  });

  it('refuses strict-format violations and the rules across keys', () => {
    const doc = demo();
    doc.console = { enabled: 'yes', port: 8080 };
    expectIssue(issuesOf(doc), 'console.enabled', /must be true or false/);
    const tls = demo();
    tls.console = { enabled: true, tls: true };
    expectIssue(issuesOf(tls), 'broker.tls.cert', /required when console.tls is true/);
    const expiry = demo();
    expiry.console = { enabled: true, session_idle_s: 100, session_max_s: 50 };
    expectIssue(issuesOf(expiry), 'console.session_idle_s', /at most console.session_max_s/);
    const clash = demo();
    clash.console = { enabled: true, port: 9464 };
    expectIssue(issuesOf(clash), 'console.port', /also metrics.port/);
    const body = demo();
    body.console = { enabled: true, max_body_bytes: 10 };
    expectIssue(issuesOf(body), 'console.max_body_bytes', /256 to 1048576/);
  });
});
