// The gateway kind (src/devices/kinds/gateway.ts): self-describing like the device kinds, but no
// device of the config can be one; its commands are in the catalog the topic contract and
// uplink.allow_commands are built from.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFields } from '../../../src/config/fields.js';
import { loadConfig } from '../../../src/config.js';
import { JOURNAL_DEFAULT_LIMIT, JOURNAL_MAX_LIMIT, gatewayCommands, gatewayKind, type GatewayServices } from '../../../src/devices/kinds/gateway.js';
import { kinds } from '../../../src/devices/kinds/index.js';
import { builtinRegistries, commandCatalogOf } from '../../../src/registries.js';
import { GATEWAY_KIND } from '../../../src/topics.js';

describe('the gateway kind', () => {
  it('documents every command: what it does, its arguments, what its data carries', () => {
    assert.equal(gatewayKind.name, GATEWAY_KIND);
    assert.deepEqual(Object.keys(gatewayCommands), ['status', 'devices', 'journal', 'outbox', 'reload', 'resync', 'config']);
    for (const [name, command] of Object.entries(gatewayCommands)) {
      assert.ok(command.doc.length > 20 && command.doc.endsWith('.'), name);
      assert.ok(command.data.length > 10, name);
      assert.equal(typeof command.args, 'object', name);
    }
    assert.deepEqual(Object.keys(gatewayKind.commands), Object.keys(gatewayCommands));
    assert.throws(() => gatewayKind.createBehaviour({} as never), /no device of the config is a gateway/);
  });

  it('journal: limit defaults to 100, at most 500; since after until is refused', () => {
    const { args, check } = gatewayCommands.journal;
    assert.deepEqual(parseFields({}, args), { values: { limit: JOURNAL_DEFAULT_LIMIT }, problems: [] });
    assert.equal(JOURNAL_MAX_LIMIT, 500);
    assert.deepEqual(parseFields({ limit: 501 }, args).problems, [{ key: 'limit', message: 'must be between 1 and 500, got 501' }]);
    assert.deepEqual(check!({ since: 5, until: 4, limit: 1 }), [{ key: 'until', message: 'must not be before since (5), got 4' }]);
    assert.deepEqual(check!({ since: 5, until: 5, limit: 1 }), []);
  });

  it('journal: each filter given is passed on, one not given is not passed at all', async () => {
    const asked: unknown[] = [];
    const gw = { journal: (query: unknown) => (asked.push(query), { rows: [] }) } as unknown as GatewayServices;
    const run = gatewayCommands.journal.run as (gw: GatewayServices, args: Record<string, unknown>, signal: AbortSignal) => Promise<unknown>;
    const signal = new AbortController().signal;
    await run(gw, { limit: 7 }, signal);
    await run(gw, { limit: 9, since: 1, until: 2, device: 'main-gate', type: 'command' }, signal);
    assert.deepEqual(asked, [{ limit: 7 }, { limit: 9, since: 1, until: 2, device: 'main-gate', type: 'command' }]);
    assert.deepEqual(asked.map((q) => Object.keys(q as object)), [['limit'], ['limit', 'since', 'until', 'device', 'type']]);
  });

  it('each command runs on the matching service of the running gateway, and its answer is the result', async () => {
    const calls: unknown[][] = [];
    const answer = (name: string) => (...args: unknown[]) => (calls.push([name, ...args]), { from: name });
    const gw = { status: answer('status'), devices: answer('devices'), outbox: answer('outbox'), config: answer('config'), reload: async () => answer('reload')(), resync: async (device: unknown, signal: unknown) => answer('resync')(device, signal) } as unknown as GatewayServices;
    const signal = new AbortController().signal;
    const run = (name: string, args: Record<string, unknown> = {}) => (gatewayCommands[name].run as (gw: GatewayServices, args: Record<string, unknown>, signal: AbortSignal) => Promise<unknown>)(gw, args, signal);
    for (const name of ['status', 'devices', 'outbox', 'reload', 'config']) assert.deepEqual(await run(name), { from: name });
    assert.deepEqual(await run('resync', { device: 'main-gate' }), { from: 'resync' });
    assert.deepEqual(calls, [['status'], ['devices'], ['outbox'], ['reload'], ['config'], ['resync', 'main-gate', signal]]);
  });

  it('journal and resync take a device id of at most 64 characters', () => {
    for (const name of ['journal', 'resync']) {
      assert.deepEqual(parseFields({ device: 'x'.repeat(64) }, gatewayCommands[name].args).problems, [], name);
      assert.equal(parseFields({ device: 'x'.repeat(65) }, gatewayCommands[name].args).problems.length, 1, name);
    }
    assert.deepEqual(parseFields({ since: 5 }, gatewayCommands.journal.args).problems, []);
    assert.deepEqual(gatewayCommands.journal.check!({ since: 5, limit: 1 }), [], 'only since: nothing to compare');
    assert.deepEqual(gatewayCommands.journal.check!({ until: 5, limit: 1 }), [], 'only until: nothing to compare');
  });

  it('no points, settings or safe state; every state field documented; no behaviour', () => {
    assert.deepEqual(gatewayKind.points, { outputs: { required: [], optional: [] }, inputs: { required: [], optional: [] } });
    assert.deepEqual(gatewayKind.settings, {});
    assert.deepEqual(gatewayKind.safeState, {});
    assert.deepEqual(gatewayKind.check({}), []);
    assert.deepEqual(Object.keys(gatewayKind.state), ['version', 'session', 'started_at', 'uptime_s', 'devices', 'outbox', 'uplink']);
    for (const [field, doc] of Object.entries(gatewayKind.state)) assert.ok(doc.length > 5, field);
    assert.ok(gatewayKind.description.length > 20);
    assert.ok(gatewayKind.eventDocs.outbox_overflow.doc.length > 20);
  });

  it('its one event, the outbox overflow, is the one it documents', () => {
    assert.deepEqual(gatewayKind.events, ['outbox_overflow']);
    assert.deepEqual(Object.keys(gatewayKind.eventDocs), gatewayKind.events);
  });

  it('is a kind of the topic contract, not of the config', () => {
    assert.ok(!Object.hasOwn(kinds, GATEWAY_KIND));
    assert.deepEqual(commandCatalogOf(builtinRegistries.kinds)[GATEWAY_KIND], Object.keys(gatewayCommands));
    const loaded = loadConfig({
      env: {},
      document: {
        site: 's',
        transports: { plc: { type: 'modbus-tcp', host: '127.0.0.1', port: 5020 } },
        devices: [{ id: 'gw', kind: 'gateway', driver: 'modbus', transport: 'plc', options: { unit: 1 } }],
        uplink: { allow_commands: ['gateway/status', 'gateway/reboot', '*/status'] },
      },
    });
    assert.equal(loaded.ok, false);
    const issues = loaded.ok ? [] : loaded.issues.map((i) => `${i.path}: ${i.message}`);
    assert.ok(issues.some((i) => /^devices\[gw\]\.kind: unknown kind "gateway"/.test(i)), issues.join('\n'));
    assert.ok(issues.includes('uplink.allow_commands[1]: a gateway has no command "reboot"'), issues.join('\n'));
    // "*" kinds are device kinds: no device kind has a status command.
    assert.ok(issues.includes('uplink.allow_commands[2]: no kind has a command "status"'), issues.join('\n'));
    assert.ok(!issues.some((i) => i.startsWith('uplink.allow_commands[0]')), issues.join('\n'));
  });
});
