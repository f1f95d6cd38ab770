// `uplink.url` as one broker or the nodes of a cluster: a YAML list, or a comma-separated
// environment variable; every node checked, each problem named by its key and index.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, type ConfigIssue } from '../../src/config.js';
import { uplinkUrls } from '../../src/uplink/config.js';

function load(uplink: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  return loadConfig({ document: { site: 'tower', gateway_id: 'edge-1', uplink }, env });
}

function issues(uplink: Record<string, unknown>): ConfigIssue[] {
  const result = load(uplink);
  assert.equal(result.ok, false, 'expected problems');
  return result.ok ? [] : result.issues;
}

describe('uplink.url as a list of nodes', () => {
  it('takes a list, kept in order', () => {
    const result = load({ enabled: true, url: ['mqtts://a.example.net:8883', 'mqtts://b.example.net:8883'] });
    assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
    assert.deepEqual(uplinkUrls(result.config.uplink.url), ['mqtts://a.example.net:8883', 'mqtts://b.example.net:8883']);
  });

  it('takes one URL as before', () => {
    const result = load({ enabled: true, url: 'mqtt://a.example.net:1883' });
    assert.ok(result.ok);
    assert.deepEqual(uplinkUrls(result.config.uplink.url), ['mqtt://a.example.net:1883']);
  });

  it('takes a comma-separated list from the environment', () => {
    const result = load({ enabled: true }, { GATEHOUSE_UPLINK_URL: 'mqtt://a.example.net:1883, mqtt://b.example.net:1883' });
    assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
    assert.deepEqual(uplinkUrls(result.config.uplink.url), ['mqtt://a.example.net:1883', 'mqtt://b.example.net:1883']);
  });

  it('names every bad node by its index', () => {
    const list = issues({
      url: ['mqtt://ok.example.net:1883', 'http://b:80', 'not a url', 'mqtt://u:p@c:1883', 'mqtt://d:1883/x', 'mqtt://ok.example.net:1883'],
    });
    const at = (path: string) => list.filter((i) => i.path === path).map((i) => i.message);
    assert.deepEqual(at('uplink.url[0]'), []);
    assert.match(at('uplink.url[1]').join(), /scheme must be mqtt: or mqtts:/);
    assert.match(at('uplink.url[2]').join(), /"not a url" is not a URL/);
    assert.match(at('uplink.url[3]').join(), /must not carry credentials/);
    assert.match(at('uplink.url[4]').join(), /nothing after the port/);
    assert.match(at('uplink.url[5]').join(), /the same node as uplink\.url\[0\]/);
  });

  it('refuses a list entry that is not a string, and an empty list when enabled', () => {
    assert.match(issues({ url: ['mqtt://a:1883', 7] }).find((i) => i.path === 'uplink.url')?.message ?? '', /entry 1 \(7\) is not a string/);
    assert.match(issues({ enabled: true, url: [] }).find((i) => i.path === 'uplink.url')?.message ?? '', /required when uplink.enabled/);
  });

  it('uses the TLS files when any node is mqtts', () => {
    const mixed = load({ url: ['mqtt://a:1883', 'mqtts://b:8883'], tls: { ca: '/nonexistent/ca.pem' } });
    assert.ok(mixed.ok, JSON.stringify(!mixed.ok && mixed.issues));
    assert.ok(issues({ url: ['mqtt://a:1883', 'mqtt://b:1883'], tls: { ca: '/x/ca.pem' } }).some((i) => i.path === 'uplink.tls.ca' && /only used with an mqtts/.test(i.message)));
  });
});
