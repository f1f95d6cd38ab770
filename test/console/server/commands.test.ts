// The console's API against a real gateway and Modbus device: the overview in words with only the
// commands a user's ACL allows, a command through the one pipeline (its result on MQTT with source
// console), a hand-crafted command refused for a user without the ACL (403, journalled), the live
// feed, the journal search and its CSV, the config view and the admin-only broker view.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientAs, parseResult, topicOf, watch } from '../../support/gateway.js';
import { GATE_A, siteDevice } from '../../support/site.js';
import { until } from '../../support/wait.js';
import { Browser, startConsoleGateway, USERS } from './support.js';

describe('console API: what a user sees and does', () => {
  const device = siteDevice();

  it('lists every device in words with the commands the ACL allows, runs one through the pipeline with source console, and refuses the viewer', async (t) => {
    const gw = await startConsoleGateway(t, device);
    const guard = new Browser(gw.base);
    const login = await guard.login(USERS.guard.username, USERS.guard.password);
    assert.equal(login.status, 200, login.text);
    assert.deepEqual({ user: login.json.user, admin: login.json.admin }, { user: 'guard', admin: true });

    const overview = await guard.get('/api/overview');
    assert.equal(overview.status, 200);
    const ids = overview.json.devices.map((d: { id: string }) => d.id).sort();
    assert.deepEqual(ids, gw.config.devices.map((d) => d.id).sort());
    const gate = overview.json.devices.find((d: { id: string }) => d.id === GATE_A.id);
    await until('gate-a online in the overview', async () => (await guard.get('/api/overview')).json.devices.find((d: { id: string; availability: string }) => d.id === GATE_A.id && d.availability === 'online'));
    assert.match(gate.summary, /locked|lock unknown|offline/);
    assert.deepEqual(gate.commands.map((c: { name: string }) => c.name).sort(), ['lock', 'unlock']);
    const unlock = gate.commands.find((c: { name: string }) => c.name === 'unlock');
    assert.ok(unlock.args.some((a: { name: string; type: string }) => a.name === 'duration_ms' && a.type === 'integer'), JSON.stringify(unlock));
    assert.ok(Object.keys(overview.json.gateway).length > 0, 'the gateway state is in the overview');
    // Beside the retained state: the broker's client count and the journal's size (the login is in it).
    assert.equal(overview.json.gateway.broker.clients, gw.gateway['broker']!.connectedClients());
    assert.ok(overview.json.gateway.journal.rows > 0 && overview.json.gateway.journal.bytes > 0, JSON.stringify(overview.json.gateway.journal));

    // The MQTT side sees the console's result, with source console.
    const mqtt = await clientAs(t, gw.port, 'guard');
    const results = await watch(mqtt, topicOf(GATE_A, 'result'));
    const live = await openLive(t, gw.base, guard.cookie!);
    const answer = await guard.post(`/api/devices/${GATE_A.id}/commands/unlock`, { args: { duration_ms: 300 } });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.json.code, 'ok');
    assert.equal(answer.json.source, 'console');
    assert.equal(answer.json.user, 'guard');
    const onMqtt = parseResult(await results.waitFor((m) => parseResult(m).id === answer.json.id));
    assert.equal(onMqtt.source, 'console');
    assert.equal(onMqtt.status, 'ok');
    // The live feed carries the result and the device's new state.
    await until(() => `the live feed's result and device event; got:\n${live.text()}`, () => live.text().includes(`"id":"${answer.json.id}"`) && /event: device\ndata: \{"id":"gate-a"/.test(live.text()));

    // The viewer: no buttons, and a hand-crafted request is refused (403) and journalled.
    const viewer = new Browser(gw.base);
    assert.equal((await viewer.login(USERS.viewer.username, USERS.viewer.password)).status, 200);
    const seen = await viewer.get('/api/overview');
    for (const d of seen.json.devices) assert.deepEqual(d.commands, [], `${d.id} offers the viewer commands`);
    const refused = await viewer.post(`/api/devices/${GATE_A.id}/commands/unlock`, {});
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.error, 'forbidden');
    const journal = await guard.get('/api/journal?type=command&user=viewer');
    assert.equal(journal.status, 200);
    assert.ok(journal.json.rows.some((r: { code?: string; source?: string; device?: string }) => r.code === 'forbidden' && r.source === 'console' && r.device === GATE_A.id), JSON.stringify(journal.json.rows));
    // Unknown device and command: 404.
    assert.equal((await guard.post('/api/devices/nope/commands/unlock', {})).status, 404);
    assert.equal((await guard.post(`/api/devices/${GATE_A.id}/commands/explode`, {})).status, 404);
    // The broker view is for admins only, and lists the MQTT client.
    assert.equal((await viewer.get('/api/broker')).status, 403);
    const broker = await guard.get('/api/broker');
    assert.equal(broker.status, 200);
    assert.ok(broker.json.clients.some((c: { user?: string; protocol: string; since: number }) => c.user === 'guard' && c.protocol === 'mqtt+tcp' && c.since > 0), JSON.stringify(broker.json));
  });

  it('searches the journal newest first, pages by cursor, and exports CSV safe for spreadsheets', async (t) => {
    const gw = await startConsoleGateway(t, device);
    const guard = new Browser(gw.base);
    assert.equal((await guard.login(USERS.guard.username, USERS.guard.password)).status, 200);
    // Refused logins with formula-looking usernames are journalled (auth_failed) with the name as typed.
    for (const name of ['=cmd|calc', '+1', '-2', '@sum', 'a,"b"']) assert.equal((await new Browser(gw.base).login(name, 'wrong-password')).status, 401);
    const page1 = await guard.get('/api/journal?type=auth_failed&limit=2');
    assert.equal(page1.status, 200, page1.text);
    assert.equal(page1.json.rows.length, 2);
    assert.equal(page1.json.more, true);
    assert.ok(page1.json.rows[0].seq > page1.json.rows[1].seq, 'newest first');
    const page2 = await guard.get(`/api/journal?type=auth_failed&limit=2&before=${page1.json.next}`);
    assert.ok(page2.json.rows.every((r: { seq: number }) => r.seq < page1.json.next));
    assert.equal((await guard.get('/api/journal?limit=0')).status, 400);
    assert.equal((await guard.get('/api/journal?since=yesterday-ish')).status, 400);

    const csv = await guard.get('/api/journal.csv?type=auth_failed');
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    assert.equal(lines[0].split(',')[0], 'seq');
    for (const line of lines.slice(1)) assert.doesNotMatch(line, /(^|,)[=+\-@]/, `a cell starts like a formula: ${line}`);
    assert.ok(lines.some((l) => l.includes(",'=cmd|calc,")), csv.text);
    assert.ok(lines.some((l) => l.includes(',"a,""b"""')), csv.text);
    assert.equal(lines.length - 1, 5);
  });
});

/** An SSE client with the session cookie; its text so far. */
async function openLive(t: import('node:test').TestContext, base: string, cookie: string): Promise<{ text(): string }> {
  const controller = new AbortController();
  const res = await fetch(`${base}/api/live`, { headers: { cookie }, signal: controller.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  let text = '';
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      // aborted at the end of the test
    }
  })();
  t.after(() => controller.abort());
  return { text: () => text };
}
