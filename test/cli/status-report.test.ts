// The `gatehouse status` screen from a scrape, a /healthz answer and /status.json: the gateway line,
// one line per device with its state, the last events and the last refusals with a hint; and the
// same screen without /status.json (a gatehouse that does not serve it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SHOWN_RECENT, formatStatus, summarize } from '../../src/cli/status-report.js';
import type { GatewayStatusDocument } from '../../src/metrics/gateway-status.js';
import type { Sample } from '../../src/metrics/text-format.js';

const NOW = new Date(2026, 10, 23, 10, 0, 0).getTime();
const at = (h: number, m: number, s: number) => new Date(2026, 10, 23, h, m, s).getTime();

const SAMPLES: Sample[] = [
  { name: 'gatehouse_build_info', labels: { version: '1.2.3', node_version: '20' }, value: 1 },
  { name: 'gatehouse_uptime_seconds', labels: {}, value: 192 },
  { name: 'gatehouse_device_online', labels: { kind: 'gate', device: 'main-gate' }, value: 1 },
  { name: 'gatehouse_device_online', labels: { kind: 'gate', device: 'back-gate' }, value: 0 },
  { name: 'gatehouse_device_online', labels: { kind: 'turnstile', device: 'lobby' }, value: 1 },
  { name: 'gatehouse_device_poll_failures_total', labels: { kind: 'gate', device: 'back-gate', code: 'timeout' }, value: 4 },
  { name: 'gatehouse_device_availability_changes_total', labels: { kind: 'gate', device: 'back-gate', availability: 'offline' }, value: 1 },
  { name: 'gatehouse_commands_total', labels: { kind: 'gate', command: 'unlock', source: 'local', status: 'ok', code: 'ok' }, value: 2 },
  { name: 'gatehouse_uplink_state', labels: { state: 'disabled' }, value: 1 },
];
const HEALTHY = { httpStatus: 200, status: 'ok', reasons: [] };

function document(events: number): GatewayStatusDocument {
  return {
    site: 'demo',
    gateway_id: 'demo-gw',
    version: '1.2.3',
    session: 4,
    started_at: NOW - 192_000,
    now: NOW,
    devices: [
      { kind: 'gate', id: 'main-gate', name: 'Main gate', availability: 'online', state: { lock: 'unlocked', door: 'open', unlocked_until: at(10, 0, 5) } },
      { kind: 'gate', id: 'back-gate', availability: 'offline', state: { lock: 'locked', door: 'closed', unlocked_until: null } },
      { kind: 'turnstile', id: 'lobby', availability: 'online', state: { mode: 'locked', passages_in: 12, passages_out: 3 } },
    ],
    events: Array.from({ length: events }, (_, i) => ({ at: at(9, 50, i), kind: 'turnstile', device: 'lobby', event: 'passage', details: { direction: 'in', count: 1, total: i + 1 } })),
    refusals: [
      { at: at(9, 58, 1), type: 'publish_denied', client_id: 'tech-laptop', username: 'guard', peer: '127.0.0.1:5123', protocol: 'mqtt+tcp', topic: 'site/dmeo/gate/main-gate/unlock', reason: 'acl' },
      { at: at(9, 59, 30), type: 'auth_failed', client_id: 'kiosk', peer: '10.0.0.7:4000', reason: 'anonymous_disabled' },
    ],
  };
}

test('with /status.json: which gateway, each device\'s state, the last events and refusals with why', () => {
  const summary = summarize('http://127.0.0.1:9464', SAMPLES, HEALTHY, document(7));
  assert.deepEqual(summary.gateway, { site: 'demo', gateway_id: 'demo-gw', session: 4 });
  assert.equal(summary.refusals[0].hint, 'the topic names site "dmeo"; this gateway serves site "demo"');
  assert.equal(
    formatStatus(summary),
    [
      'gatehouse 1.2.3 at http://127.0.0.1:9464, up 3m 12s',
      'gateway     demo-gw of site demo (session 4)',
      'health      ok',
      'broker      0 clients connected; messages 0 received, 0 published',
      'devices     2 of 3 online',
      '  gate       back-gate  OFFLINE  last known: locked, door closed; poll failures 4 (timeout 4); went offline 1x',
      '  gate       main-gate  online   unlocked until 10:00:05, door open',
      '  turnstile  lobby      online   locked, passages in 12, out 3',
      'commands    2 answered: ok 2',
      'outbox      0 messages (0 B), 0 dropped',
      'uplink      disabled',
      `events      the last ${SHOWN_RECENT} of 7 kept, newest last`,
      '  09:50:02  turnstile/lobby  passage  direction=in count=1 total=3',
      '  09:50:03  turnstile/lobby  passage  direction=in count=1 total=4',
      '  09:50:04  turnstile/lobby  passage  direction=in count=1 total=5',
      '  09:50:05  turnstile/lobby  passage  direction=in count=1 total=6',
      '  09:50:06  turnstile/lobby  passage  direction=in count=1 total=7',
      'refused     2 entries, newest last; all of them: gatehouse journal --type TYPE',
      '  09:58:01  publish_denied   user guard, client "tech-laptop" from 127.0.0.1:5123: site/dmeo/gate/main-gate/unlock: acl (the topic names site "dmeo"; this gateway serves site "demo")',
      '  09:59:30  auth_failed      anonymous, client "kiosk" from 10.0.0.7:4000: anonymous_disabled (no username, and broker.anonymous.enabled is false)',
      '',
    ].join('\n'),
  );
});

test('nothing recent: one line each says so', () => {
  const text = formatStatus(summarize('http://h:1', SAMPLES, HEALTHY, { ...document(0), refusals: [] }));
  assert.match(text, /\nevents {6}none since start\nrefused {5}none since start\n$/);
});

test('without /status.json (an older gatehouse): the metrics summary alone, no gateway, state or recent lines', () => {
  const summary = summarize('http://127.0.0.1:9464', SAMPLES, HEALTHY, null);
  assert.equal(summary.gateway, null);
  assert.deepEqual(summary.events, []);
  assert.ok(summary.devices.every((d) => d.state === null));
  const text = formatStatus(summary);
  assert.doesNotMatch(text, /\n(gateway|events|refused) /);
  assert.match(text, /\n {2}gate {7}main-gate {2}online {3}poll failures 0\n/);
  assert.match(text, /\n {2}gate {7}back-gate {2}OFFLINE {2}poll failures 4 \(timeout 4\); went offline 1x\n/);
});
