// The console of the demo (config/demo.yaml), as a technician meets it: its URL in the banner,
// the tech user an admin, every demo device in words, the camera's snapshot, and the failed-login
// lockout shared with the broker: once the console has locked an address out, MQTT logins from it
// are refused too (one limiter, one set of rules).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEMO_CONFIG_FILE } from '../../../src/cli/demo.js';
import { connectClient } from '../../support/mqtt-client.js';
import { startDemo, type DemoProcess } from '../../support/demo.js';
import { until } from '../../support/wait.js';
import { Browser } from './support.js';

describe('the demo console', () => {
  let demo: DemoProcess;
  let base: string;
  before(async () => {
    demo = await startDemo();
    assert.ok(demo.consolePort > 0, `the demo's console did not listen:\n${demo.stderr}`);
    base = `http://127.0.0.1:${demo.consolePort}`;
  });
  after(() => demo?.stop());

  it('prints its URL in the banner; tech is an admin and sees every device in words, and takes a snapshot', async () => {
    assert.ok(demo.stderr.includes(`technician console: ${base}/`), demo.stderr);
    const tech = new Browser(base);
    const login = await tech.login('tech', 'tech-demo');
    assert.equal(login.status, 200, login.text);
    assert.equal(login.json.admin, true);
    const config = await tech.get('/api/config');
    assert.deepEqual(config.json.source.files, [DEMO_CONFIG_FILE], 'the config view says which file the running config came from');
    const overview = await until('every demo device online', async () => {
      const answer = await tech.get('/api/overview');
      return answer.json.devices.length === 5 && answer.json.devices.every((d: { availability: string }) => d.availability === 'online') && answer.json;
    });
    const barrier = overview.devices.find((d: { kind: string }) => d.kind === 'barrier');
    assert.match(barrier.summary, /^(open|closed|arm \w+), (vehicle present|no vehicle)$/);
    const shot = await tech.post('/api/devices/lobby-cam/commands/snapshot', {});
    assert.equal(shot.json.code, 'ok', shot.text);
    const image = await until('the snapshot', async () => {
      const answer = await fetch(`${base}/api/devices/lobby-cam/snapshot`, { headers: { cookie: tech.cookie! } });
      return answer.status === 200 && answer;
    });
    assert.equal(image.headers.get('content-type'), 'image/jpeg');
    const bytes = Buffer.from(await image.arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xd8], 'a JPEG');
    const page = await tech.get('/api/devices/lobby-cam');
    assert.equal(page.json.snapshot.url, '/api/devices/lobby-cam/snapshot');
  });

  it('locks out after the broker login limit, journals it, and the MQTT listener refuses the same address', async () => {
    const tech = new Browser(base);
    assert.equal((await tech.login('tech', 'tech-demo')).status, 200);
    const stranger = new Browser(base);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await stranger.login('guard', `wrong-${i}`)).status);
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401), statuses.join(' '));
    assert.equal(statuses[10], 429);
    const locked = await stranger.login('guard', 'guard-demo');
    assert.equal(locked.status, 429);
    assert.equal(locked.json.error, 'locked_out');
    const journal = await until('the lockout in the journal', async () => {
      const answer = await tech.get('/api/journal?type=lockout');
      return answer.json.rows.length > 0 && answer.json;
    });
    assert.match(journal.rows[0].message, /locked/);
    const refused = await tech.get('/api/journal?type=auth_failed&user=guard');
    assert.ok(refused.json.rows.length >= 10, refused.text);
    const broker = await tech.get('/api/broker');
    assert.ok(broker.json.lockouts.length > 0 && broker.json.refused.some((r: { protocol?: string }) => r.protocol === 'console+http'), broker.text);
    await assert.rejects(connectClient({ port: demo.port, username: 'display', password: 'display-demo' }), 'MQTT from the locked address is refused');
  });
});
