// redactConfig (src/config/redact.ts): the demo config, loaded as the gateway runs it, shows no
// password, hash or key once redacted, keeps everything else, and is not changed itself.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { REDACTED, redactConfig } from '../../src/config/redact.js';
import { demo } from './support.js';

describe('redactConfig', () => {
  it('removes every password hash, password and key of the demo config, and keeps the rest', () => {
    const loaded = loadConfig({ document: demo(), env: {} });
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.issues));
    const config = loaded.config;
    const text = JSON.stringify(redactConfig(config));
    for (const user of config.users) assert.ok(!text.includes(user.password_hash), `hash of ${user.username} shown`);
    assert.ok(!text.includes('demo-camera'), 'camera password shown');
    const redacted = redactConfig(config);
    assert.equal(redacted.users[0].password_hash, REDACTED);
    assert.equal(redacted.users[0].username, config.users[0].username);
    assert.deepEqual(redacted.devices.map((d) => d.id), config.devices.map((d) => d.id));
    assert.equal(redacted.broker.port, config.broker.port);
    // The original is untouched (and frozen).
    assert.ok(config.users[0].password_hash.startsWith('scrypt$'));
  });

  it('redacts credentials in URLs, secret keys at any depth, and keeps empty secrets empty', () => {
    const input = {
      uplink: { url: 'mqtts://cloud:s3cret@broker.example:8883', password: 'p', password_file: '/etc/p', tls: { key: '/etc/k.pem', cert: '/etc/c.pem' } },
      transports: { cam: { xaddr: 'http://10.0.0.9/onvif?user=admin&pwd=hunter2', password: '' } },
      list: [{ token: 'abc' }, 'rtsp://u:p@cam/stream', 'plain text'],
    };
    const out = redactConfig(input);
    const text = JSON.stringify(out);
    for (const secret of ['s3cret', 'hunter2', 'abc', 'u:p@']) assert.ok(!text.includes(secret), `${secret} shown: ${text}`);
    assert.equal(out.uplink.password, REDACTED);
    assert.equal(out.uplink.password_file, '/etc/p');
    assert.equal(out.uplink.tls.key, REDACTED);
    assert.equal(out.uplink.tls.cert, '/etc/c.pem');
    assert.equal(out.transports.cam.password, '');
    assert.match(out.uplink.url, /^mqtts:\/\/\[redacted\]@broker\.example:8883/);
    assert.equal(out.list[2], 'plain text');
    assert.equal(input.uplink.password, 'p');
  });
});
