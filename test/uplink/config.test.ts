// The `uplink` config section: defaults, and every problem named by its key path.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig, type ConfigIssue } from '../../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-uplink-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const readable = join(dir, 'ca.pem');
writeFileSync(readable, 'not checked for content here');

function load(uplink: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  return loadConfig({ document: { site: 'tower', gateway_id: 'edge-1', uplink }, env });
}

function issues(uplink: Record<string, unknown>): ConfigIssue[] {
  const result = load(uplink);
  assert.equal(result.ok, false, 'expected problems');
  return result.ok ? [] : result.issues;
}

function issueAt(list: ConfigIssue[], path: string): string {
  const found = list.find((i) => i.path === path);
  assert.ok(found, `an issue at ${path}; got ${JSON.stringify(list)}`);
  return found.message;
}

describe('uplink config', () => {
  it('is off by default, with documented defaults and the client id derived from site and gateway', () => {
    const result = load({});
    assert.ok(result.ok);
    assert.deepEqual(result.config.uplink, {
      enabled: false,
      url: '',
      protocol: '3.1.1',
      client_id: 'gatehouse-tower-edge-1',
      username: '',
      password: '',
      password_file: '',
      tls: { ca: '', cert: '', key: '' },
      keepalive_s: 30,
      connect_timeout_ms: 10_000,
      forward: [],
      allow_commands: [],
      inflight: 20,
      max_messages: 1_000_000,
      max_bytes: 268_435_456,
      backoff: { initial_ms: 1000, max_ms: 60_000 },
      synchronous: 'FULL',
      flush_on_stop_ms: 5000,
    });
  });

  it('accepts a complete mutual-TLS setup and environment overrides', () => {
    const result = load(
      {
        enabled: true,
        url: 'mqtts://broker.example.net:8883',
        username: 'tower',
        password_file: readable,
        tls: { ca: readable, cert: readable, key: readable },
        forward: ['site/tower/app/#'],
        allow_commands: ['gate/unlock', 'turnstile/*', '*/lock'],
        synchronous: 'NORMAL',
      },
      { GATEHOUSE_UPLINK_INFLIGHT: '50', GATEHOUSE_UPLINK_CLIENT_ID: 'custom' },
    );
    assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
    assert.equal(result.config.uplink.inflight, 50);
    assert.equal(result.config.uplink.client_id, 'custom');
    assert.equal(result.config.uplink.synchronous, 'NORMAL');
  });

  it('requires a url when enabled and checks its form', () => {
    assert.match(issueAt(issues({ enabled: true }), 'uplink.url'), /required when uplink.enabled/);
    assert.match(issueAt(issues({ url: 'http://x:80' }), 'uplink.url'), /scheme must be mqtt: or mqtts:/);
    assert.match(issueAt(issues({ url: 'not a url' }), 'uplink.url'), /is not a URL/);
    assert.match(issueAt(issues({ url: 'mqtt://u:p@host:1883' }), 'uplink.url'), /must not carry credentials/);
    assert.match(issueAt(issues({ url: 'mqtt://host:1883/topic' }), 'uplink.url'), /nothing after the port/);
  });

  it('names each credential and TLS problem by its key, files only when enabled', () => {
    const list = issues({
      enabled: true,
      url: 'mqtts://host:8883',
      password: 'x',
      password_file: join(dir, 'missing-password'),
      tls: { ca: join(dir, 'missing-ca.pem'), cert: readable },
    });
    assert.match(issueAt(list, 'uplink.password_file'), /not both/);
    assert.match(issueAt(list, 'uplink.username'), /MQTT 3.1.1 section 3.1.2.9/);
    assert.match(issueAt(list, 'uplink.tls.key'), /needs both uplink.tls.cert and uplink.tls.key/);
    const unreadable = list.filter((i) => /cannot read .*missing/.test(i.message)).map((i) => i.path).sort();
    assert.deepEqual(unreadable, ['uplink.password_file', 'uplink.tls.ca']);
    assert.ok(load({ enabled: false, tls: { ca: join(dir, 'missing-ca.pem') } }).ok, 'a disabled uplink does not read its files');
    assert.match(issueAt(issues({ url: 'mqtt://host:1883', tls: { ca: readable } }), 'uplink.tls.ca'), /only used with an mqtts:\/\/ url/);
  });

  it('checks the allow-list against the known kinds and commands', () => {
    const list = issues({ allow_commands: ['gate/unlock', 'elevator/call', 'gate/pass', '*/fly'] });
    assert.match(issueAt(list, 'uplink.allow_commands[1]'), /unknown kind "elevator"/);
    assert.match(issueAt(list, 'uplink.allow_commands[2]'), /a gate has no command "pass"/);
    assert.match(issueAt(list, 'uplink.allow_commands[3]'), /no kind has a command "fly"/);
    assert.match(issueAt(issues({ allow_commands: ['gate'] }), 'uplink.allow_commands'), /is not "kind\/command"/);
  });

  it('speaks MQTT 3.1.1 unless told "5"; anything else is named with its value', () => {
    for (const spelling of ['5', 5]) {
      const result = load({ protocol: spelling });
      assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
      assert.equal(result.config.uplink.protocol, '5', `protocol: ${JSON.stringify(spelling)}`);
    }
    const fromEnv = load({}, { GATEHOUSE_UPLINK_PROTOCOL: '5' });
    assert.ok(fromEnv.ok);
    assert.equal(fromEnv.config.uplink.protocol, '5');
    for (const wrong of [4, '4', 3.1, '5.0', 'v5', 'mqtt5', '', null]) {
      const message = issueAt(issues({ protocol: wrong }), 'uplink.protocol');
      assert.match(message, /must be "3\.1\.1" or "5"/, `protocol: ${JSON.stringify(wrong)}`);
      assert.ok(message.includes(JSON.stringify(wrong)), `the message names the value ${JSON.stringify(wrong)}: ${message}`);
    }
  });

  it('checks bounds, backoff, durability and forward filters', () => {
    const list = issues({ inflight: 0, max_messages: -1, backoff: { initial_ms: 5000, max_ms: 100 }, synchronous: 'OFF', forward: ['a/#/b'], colour: 1 });
    assert.match(issueAt(list, 'uplink.inflight'), /positive integer/);
    assert.match(issueAt(list, 'uplink.max_messages'), /positive integer/);
    assert.match(issueAt(list, 'uplink.backoff.max_ms'), /at least uplink.backoff.initial_ms/);
    assert.match(issueAt(list, 'uplink.synchronous'), /FULL|NORMAL/);
    assert.match(issueAt(list, 'uplink.forward'), /not a valid MQTT topic filter/);
    assert.match(issueAt(list, 'uplink.colour'), /unknown key/);
  });
});
