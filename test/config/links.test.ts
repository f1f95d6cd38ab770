// Config validation of `links` (commands run when a device emits an event) and `snapshots`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { demo, expectIssue, issuesOf } from './support.js';

/** The demo config (gates main-gate and garage-gate, turnstile lobby-turnstile) with `links`. */
function withLinks(links: unknown, extra: Record<string, unknown> = {}): Record<string, any> {
  const doc = demo();
  doc.devices = doc.devices.filter((d: { kind: string }) => d.kind !== 'camera');
  delete doc.links;
  return { ...doc, links, ...extra };
}

test('a valid link is normalised: name, source, steps with the target kind and the configured args', () => {
  const result = loadConfig({
    document: withLinks([
      {
        name: 'forced-lockdown',
        on: { device: 'main-gate', event: 'door_forced' },
        run: [{ device: 'garage-gate', command: 'lock' }, { device: 'lobby-turnstile', command: 'lock' }],
      },
      { on: { device: 'lobby-turnstile', event: 'passage' }, run: [{ device: 'garage-gate', command: 'unlock', args: { duration_ms: 3000 } }] },
    ]),
    env: {},
  });
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.issues));
  assert.deepEqual(result.config.links, [
    {
      name: 'forced-lockdown',
      on: { device: 'main-gate', event: 'door_forced' },
      run: [
        { device: 'garage-gate', kind: 'gate', command: 'lock', args: {} },
        { device: 'lobby-turnstile', kind: 'turnstile', command: 'lock', args: {} },
      ],
    },
    { name: 'links[1]', on: { device: 'lobby-turnstile', event: 'passage' }, run: [{ device: 'garage-gate', kind: 'gate', command: 'unlock', args: { duration_ms: 3000 } }] },
  ]);
  assert.ok(Object.isFrozen(result.config.links[0].run[0]), 'frozen with the rest of the config');
});

test('no links and the snapshot defaults when the sections are absent', () => {
  const doc = withLinks(undefined);
  delete doc.links;
  delete doc.snapshots;
  const result = loadConfig({ document: doc, env: {} });
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.issues));
  assert.deepEqual(result.config.links, []);
  assert.deepEqual(result.config.snapshots, { keep: 20, max_bytes: 20 * 1024 * 1024 });
});

test('snapshot bounds are validated and take environment overrides', () => {
  expectIssue(issuesOf(withLinks([], { snapshots: { keep: 0, max_bytes: 'lots' } })), 'snapshots.keep', /positive integer/);
  expectIssue(issuesOf(withLinks([], { snapshots: { keep: 5, max_bytes: 'lots' } })), 'snapshots.max_bytes', /positive integer/);
  expectIssue(issuesOf(withLinks([], { snapshots: { keep: 5, colour: 1 } })), 'snapshots.colour', /unknown key/);
  const result = loadConfig({ document: withLinks([]), env: { GATEHOUSE_SNAPSHOTS_KEEP: '3', GATEHOUSE_SNAPSHOTS_MAX_BYTES: '4096' } });
  assert.ok(result.ok);
  assert.deepEqual(result.config.snapshots, { keep: 3, max_bytes: 4096 });
});

test('unknown devices, events, commands and bad arguments are each named by their key path, all at once', () => {
  const issues = issuesOf(
    withLinks([
      { on: { device: 'back-door', event: 'unlocked' }, run: [{ device: 'garage-gate', command: 'lock' }] },
      { on: { device: 'main-gate', event: 'passage' }, run: [{ device: 'cam-9', command: 'snapshot' }] },
      { on: { device: 'lobby-turnstile', event: 'passage' }, run: [{ device: 'main-gate', command: 'open' }] },
      {
        on: { device: 'lobby-turnstile', event: 'passage' },
        run: [
          { device: 'main-gate', command: 'unlock', args: { duration_ms: 10, colour: 'red' } },
          { device: 'lobby-turnstile', command: 'pass' },
        ],
      },
      { on: { device: 'lobby-turnstile', event: 'unlocked' }, run: [{ device: 'main-gate', command: 'unlock', args: { id: 'mine', ttl_ms: 5 } }] },
    ]),
  );
  expectIssue(issues, 'links[0].on.device', /no device named "back-door" \(defined: main-gate, garage-gate, lobby-turnstile/);
  expectIssue(issues, 'links[1].on.event', /a gate does not emit "passage" \(its events: unlocked, locked, door_opened, door_closed, door_forced, door_held_open\)/);
  expectIssue(issues, 'links[1].run[0].device', /no device named "cam-9"/);
  expectIssue(issues, 'links[2].run[0].command', /a gate has no command "open" \(known: unlock, lock\)/);
  expectIssue(issues, 'links[3].run[0].args.duration_ms', /between 100 and 60000/);
  expectIssue(issues, 'links[3].run[0].args.colour', /unknown key/);
  expectIssue(issues, 'links[3].run[1].device', /must not command the device that triggers it/);
  expectIssue(issues, 'links[4].run[0].args.id', /not an argument/);
  expectIssue(issues, 'links[4].run[0].args.ttl_ms', /not an argument/);
});

test('required command arguments are required in a link too (turnstile pass needs a direction)', () => {
  expectIssue(issuesOf(withLinks([{ on: { device: 'main-gate', event: 'unlocked' }, run: [{ device: 'lobby-turnstile', command: 'pass' }] }])), 'links[0].run[0].args.direction', /is required/);
  const ok = loadConfig({ document: withLinks([{ on: { device: 'main-gate', event: 'unlocked' }, run: [{ device: 'lobby-turnstile', command: 'pass', args: { direction: 'in' } }] }]), env: {} });
  assert.ok(ok.ok, ok.ok ? '' : JSON.stringify(ok.issues));
});

test('argument limits come from the target device\'s settings (gate max_unlock_ms)', () => {
  const doc = withLinks([{ on: { device: 'lobby-turnstile', event: 'passage' }, run: [{ device: 'garage-gate', command: 'unlock', args: { duration_ms: 9000 } }] }]);
  doc.devices.find((d: { id: string }) => d.id === 'garage-gate').max_unlock_ms = 8000;
  expectIssue(issuesOf(doc), 'links[0].run[0].args.duration_ms', /between 100 and 8000/);
});

test('malformed shapes: not a list, not mappings, empty run, unknown keys, bad and duplicate names', () => {
  expectIssue(issuesOf(withLinks({ on: 'x' })), 'links', /must be a list/);
  const issues = issuesOf(
    withLinks([
      'gate-a',
      { on: 'main-gate', run: [] },
      { on: { device: 'main-gate', event: 'unlocked', when: 1 }, run: [{ device: 'garage-gate', command: 'lock', delay_ms: 5 }], colour: 'x' },
      { name: 'Bad Name', on: { device: 'main-gate', event: 'unlocked' }, run: ['lock'] },
      { name: 'twice', on: { device: 'main-gate', event: 'locked' }, run: [{ device: 'garage-gate', command: 'lock', args: 'now' }] },
      { name: 'twice', on: { device: 'main-gate', event: 'locked' }, run: new Array(17).fill({ device: 'garage-gate', command: 'lock' }) },
      { on: { device: 'main-gate' }, run: [{ device: 'garage-gate', command: 'lock' }] },
    ]),
  );
  expectIssue(issues, 'links[0]', /must be a mapping/);
  expectIssue(issues, 'links[1].on', /must be a mapping \{device, event\}/);
  expectIssue(issues, 'links[1].run', /non-empty list/);
  expectIssue(issues, 'links[2].colour', /unknown key/);
  expectIssue(issues, 'links[2].on.when', /unknown key/);
  expectIssue(issues, 'links[2].run[0].delay_ms', /unknown key/);
  expectIssue(issues, 'links[3].name', /a-z 0-9/);
  expectIssue(issues, 'links[3].run[0]', /must be a mapping/);
  expectIssue(issues, 'links[4].run[0].args', /must be a mapping/);
  expectIssue(issues, 'links[5].name', /duplicate link name "twice" \(also links\[4\]\)/);
  expectIssue(issues, 'links[5].run', /at most 16 steps/);
  expectIssue(issues, 'links[6].on.event', /must be the name of an event/);
});

test('links that form a loop between devices are refused, naming every link of the loop', () => {
  const issues = issuesOf(
    withLinks([
      { on: { device: 'main-gate', event: 'unlocked' }, run: [{ device: 'garage-gate', command: 'unlock' }] },
      { on: { device: 'lobby-turnstile', event: 'passage' }, run: [{ device: 'main-gate', command: 'lock' }] },
      { on: { device: 'garage-gate', event: 'unlocked' }, run: [{ device: 'lobby-turnstile', command: 'unlock' }] },
    ]),
  );
  expectIssue(issues, 'links[0]', /links links\[0\], links\[1\], links\[2\] form a loop among devices main-gate, garage-gate, lobby-turnstile/);
  assert.equal(issues.length, 1, 'one loop, one issue');
});

test('a chain without a loop is accepted; two links between the same pair in both directions are a loop', () => {
  const chain = loadConfig({
    document: withLinks([
      { on: { device: 'main-gate', event: 'unlocked' }, run: [{ device: 'garage-gate', command: 'unlock' }] },
      { on: { device: 'garage-gate', event: 'door_opened' }, run: [{ device: 'lobby-turnstile', command: 'unlock' }] },
      { on: { device: 'main-gate', event: 'locked' }, run: [{ device: 'lobby-turnstile', command: 'lock' }] },
    ]),
    env: {},
  });
  assert.ok(chain.ok, chain.ok ? '' : JSON.stringify(chain.issues));
  const issues = issuesOf(
    withLinks([
      { on: { device: 'main-gate', event: 'door_forced' }, run: [{ device: 'garage-gate', command: 'lock' }] },
      { on: { device: 'garage-gate', event: 'locked' }, run: [{ device: 'main-gate', command: 'lock' }] },
    ]),
  );
  expectIssue(issues, 'links[0]', /form a loop among devices main-gate, garage-gate/);
});

test('events a driver declares (serial-line event patterns) can trigger links', () => {
  const doc = withLinks([{ on: { device: 'door-panel', event: 'card_read' }, run: [{ device: 'main-gate', command: 'unlock' }] }]);
  doc.transports.line = { type: 'serial-line', path: '/dev/ttyUSB9' };
  doc.devices.push({
    id: 'door-panel',
    kind: 'gate',
    driver: 'serial-line',
    transport: 'line',
    options: { outputs: { unlock: { on: 'REL1 ON', off: 'REL1 OFF', ok: '^OK$' } }, events: [{ pattern: '^CARD (?<card>\\d+)$', event: 'card_read' }] },
  });
  const result = loadConfig({ document: doc, env: {} });
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.issues));
  assert.equal(result.config.links[0].on.event, 'card_read');
});
