// Home Assistant MQTT discovery: every payload checked against the field lists of Home Assistant's
// MQTT documentation (written down here as data), every topic a real gatehouse topic, every button
// payload a command the pipeline accepts; then a real gateway on the pymodbus site: the retained
// configs, a button pressed as Home Assistant would (an `ok` result), the republish on HA's
// `online`, and the removal of a device at a reload.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword } from '../../src/broker/password.js';
import { parseEnvelope } from '../../src/commands/envelope.js';
import { parseFields } from '../../src/config/fields.js';
import { loadConfig } from '../../src/config.js';
import { kinds } from '../../src/devices/kinds/index.js';
import type { KindDefinition } from '../../src/devices/kinds/types.js';
import { configTopic, deviceDiscovery, gatewayDiscovery, objectId, type DiscoverySite } from '../../src/homeassistant/discovery.js';
import { classifyTopic, GATEWAY_KIND, topics } from '../../src/topics.js';
import { VERSION } from '../../src/version.js';
import { parseResult, startGatewayFrom, tempDataDir, uniqueId } from '../support/gateway.js';
import { connectClient, subscribeCollect, type CollectedMessage, type Collector } from '../support/mqtt-client.js';
import { GATE_A, GATE_B, GATEWAY_ID, SITE, TURNSTILE, configDocument, loadHarnessConfig, siteDevice } from '../support/site.js';
import { until } from '../support/wait.js';

// ---------------------------------------------------------------------------------------------
// Home Assistant's MQTT documentation, as data (home-assistant.io/integrations/mqtt, "Device
// discovery payload", and the pages of each platform: button.mqtt, sensor.mqtt,
// binary_sensor.mqtt, camera.mqtt, event.mqtt). Full names; the abbreviations are not used.

/** Keys a device discovery payload may carry at its top level; `device`, `origin`, `components` are required. */
const DEVICE_DISCOVERY_KEYS = ['device', 'origin', 'components', 'availability', 'availability_mode', 'availability_topic', 'availability_template', 'payload_available', 'payload_not_available', 'qos', 'state_topic', 'command_topic', 'encoding'];
const DEVICE_DISCOVERY_REQUIRED = ['device', 'origin', 'components'];
/** The `device` block: identifiers or connections is required. */
const DEVICE_KEYS = ['identifiers', 'connections', 'name', 'manufacturer', 'model', 'model_id', 'hw_version', 'sw_version', 'serial_number', 'suggested_area', 'configuration_url', 'via_device'];
/** The `origin` block: name is required. */
const ORIGIN_KEYS = ['name', 'sw_version', 'support_url'];

/** Options every MQTT entity platform takes (availability, device, naming, ...). */
const ENTITY_COMMON = ['platform', 'name', 'unique_id', 'object_id', 'default_entity_id', 'icon', 'entity_category', 'enabled_by_default', 'availability', 'availability_mode', 'availability_topic', 'availability_template', 'payload_available', 'payload_not_available', 'json_attributes_topic', 'json_attributes_template', 'encoding', 'qos', 'device_class'];

const PLATFORMS: Record<string, { required: string[]; optional: string[] }> = {
  button: { required: ['command_topic'], optional: ['command_template', 'payload_press', 'retain'] },
  sensor: { required: ['state_topic'], optional: ['value_template', 'unit_of_measurement', 'state_class', 'expire_after', 'force_update', 'last_reset_value_template', 'options', 'suggested_display_precision'] },
  binary_sensor: { required: ['state_topic'], optional: ['value_template', 'payload_on', 'payload_off', 'expire_after', 'force_update', 'off_delay'] },
  camera: { required: ['topic'], optional: ['image_encoding'] },
  event: { required: ['state_topic', 'event_types'], optional: ['value_template'] },
};
const DEVICE_CLASSES: Record<string, string[]> = {
  binary_sensor: ['connectivity', 'door', 'moving', 'occupancy', 'opening', 'lock', 'motion', 'presence', 'problem', 'safety', 'tamper'],
  sensor: ['duration', 'timestamp', 'enum'],
};
const STATE_CLASSES = ['measurement', 'total', 'total_increasing'];
const ENTITY_CATEGORIES = ['config', 'diagnostic'];

const SITE_ID = 'riverside';
const SITE_INFO: DiscoverySite = { site: SITE_ID, gatewayId: 'edge-1', prefix: 'homeassistant', version: VERSION };

/** Problems of one discovery payload; `kind` is the device's kind (undefined for the gateway). */
function problemsOf(payload: Record<string, unknown>, deviceId: string, kind: KindDefinition | undefined): string[] {
  const problems: string[] = [];
  const unknown = (where: string, keys: string[], allowed: string[]) => keys.filter((k) => !allowed.includes(k)).forEach((k) => problems.push(`${where}: unknown key ${k}`));
  unknown('payload', Object.keys(payload), DEVICE_DISCOVERY_KEYS);
  for (const key of DEVICE_DISCOVERY_REQUIRED) if (!(key in payload)) problems.push(`payload: ${key} missing`);
  const device = payload.device as Record<string, unknown>;
  unknown('device', Object.keys(device), DEVICE_KEYS);
  if (!Array.isArray(device.identifiers) || device.identifiers.length === 0) problems.push('device: identifiers missing');
  const origin = payload.origin as Record<string, unknown>;
  unknown('origin', Object.keys(origin), ORIGIN_KEYS);
  if (typeof origin.name !== 'string') problems.push('origin: name missing');
  checkTopic(problems, 'availability', payload.availability, deviceId, kind);
  for (const [key, raw] of Object.entries(payload.components as Record<string, Record<string, unknown>>)) {
    const where = `components.${key}`;
    const platform = PLATFORMS[raw.platform as string];
    if (!platform) {
      problems.push(`${where}: unknown platform ${String(raw.platform)}`);
      continue;
    }
    unknown(where, Object.keys(raw), [...ENTITY_COMMON, ...platform.required, ...platform.optional]);
    for (const required of platform.required) if (!(required in raw)) problems.push(`${where}: ${required} missing`);
    if (typeof raw.unique_id !== 'string') problems.push(`${where}: unique_id missing (required with device discovery)`);
    if (raw.device_class !== undefined && !DEVICE_CLASSES[raw.platform as string]?.includes(raw.device_class as string)) problems.push(`${where}: device_class ${String(raw.device_class)}`);
    if (raw.state_class !== undefined && !STATE_CLASSES.includes(raw.state_class as string)) problems.push(`${where}: state_class ${String(raw.state_class)}`);
    if (raw.entity_category !== undefined && !ENTITY_CATEGORIES.includes(raw.entity_category as string)) problems.push(`${where}: entity_category ${String(raw.entity_category)}`);
    for (const topicKey of ['state_topic', 'command_topic', 'topic']) if (topicKey in raw) checkTopic(problems, `${where}.${topicKey}`, raw[topicKey], deviceId, kind);
    if (raw.platform === 'event') {
      const types = raw.event_types as string[];
      if (!kind || types.length === 0 || types.some((t) => !kind.events.includes(t))) problems.push(`${where}: event_types ${JSON.stringify(types)} are not the kind's events`);
    }
    if (raw.platform === 'button' && 'command_topic' in raw) problems.push(...buttonProblems(where, raw, kind));
  }
  return problems;
}

/** A topic (or an availability list) must be a gatehouse topic of this device or of the gateway, per src/topics.ts. */
function checkTopic(problems: string[], where: string, value: unknown, deviceId: string, kind: KindDefinition | undefined): void {
  if (Array.isArray(value)) {
    for (const entry of value) checkTopic(problems, where, (entry as { topic: unknown }).topic, deviceId, kind);
    return;
  }
  if (value === undefined && where === 'availability') return;
  if (typeof value !== 'string') return void problems.push(`${where}: not a topic`);
  const cls = classifyTopic(SITE_ID, value);
  const parts = value.split('/');
  const ours = parts[2] === (kind?.name ?? GATEWAY_KIND) && parts[3] === deviceId;
  const gateways = parts[2] === GATEWAY_KIND && parts[3] === SITE_INFO.gatewayId;
  if (cls.type === 'reserved' && ['state', 'availability', 'event', 'image'].includes(cls.leaf) && (ours || (gateways && ['state', 'availability'].includes(cls.leaf)))) return;
  if (cls.type === 'command' && kind && ours && cls.command in kind.commands) return;
  problems.push(`${where}: ${value} is not a gatehouse topic of ${deviceId}`);
}

/** payload_press must be a command envelope whose arguments the command accepts. */
function buttonProblems(where: string, raw: Record<string, unknown>, kind: KindDefinition | undefined): string[] {
  const parsed = parseEnvelope(Buffer.from(String(raw.payload_press)));
  if (!parsed.ok) return [`${where}: payload_press: ${parsed.message}`];
  const command = String(raw.command_topic).split('/')[4];
  const definition = kind?.commands[command];
  if (!definition) return [`${where}: no command ${command}`];
  const specs = typeof definition.args === 'function' ? definition.args({ max_ptz_ms: 10_000, max_unlock_ms: 60_000, max_open_ms: 120_000 }) : definition.args;
  return parseFields(parsed.envelope.args, specs, definition.required).problems.map((p) => `${where}: payload_press ${p.key} ${p.message}`);
}

// ---------------------------------------------------------------------------------------------
// Payloads

const DEVICES = [
  { id: 'main-gate', name: 'Main gate', driver: 'modbus', kind: kinds.gate },
  { id: 'lobby', name: 'Lobby turnstile', driver: 'modbus', kind: kinds.turnstile },
  { id: 'garage', name: 'Garage barrier', driver: 'modbus', kind: kinds.barrier },
  { id: 'entrance-cam', name: 'Entrance camera', driver: 'onvif', kind: kinds.camera },
];

test('every discovery payload follows Home Assistant\'s field lists, with real topics and valid commands', () => {
  for (const device of DEVICES) {
    const { topic, payload } = deviceDiscovery(SITE_INFO, device);
    assert.equal(topic, `homeassistant/device/${objectId(SITE_ID, device.kind.name, device.id)}/config`);
    assert.match(objectId(SITE_ID, device.kind.name, device.id), /^[a-zA-Z0-9_-]+$/, 'HA object ids are [a-zA-Z0-9_-]');
    assert.deepEqual(problemsOf(payload, device.id, device.kind), [], device.id);
    assert.equal((payload.device as Record<string, unknown>).via_device, objectId(SITE_ID, GATEWAY_KIND, 'edge-1'));
  }
  const gateway = gatewayDiscovery(SITE_INFO);
  assert.deepEqual(problemsOf(gateway.payload, 'edge-1', undefined), []);
  assert.deepEqual((gateway.payload.device as Record<string, unknown>).identifiers, [objectId(SITE_ID, GATEWAY_KIND, 'edge-1')]);
});

test('the checker above catches what Home Assistant would refuse (so its silence means something)', () => {
  const { payload } = deviceDiscovery(SITE_INFO, DEVICES[0]);
  const broken = structuredClone(payload) as Record<string, Record<string, Record<string, unknown>>>;
  delete broken.components.unlock_button.command_topic;
  broken.components.lock.state_topic = `site/${SITE_ID}/gate/other-gate/state`;
  broken.components.lock_button.payload_press = '{"duration_ms":"soon"}';
  broken.components.door.colour = 'red';
  broken.components.event.event_types = ['exploded'];
  assert.deepEqual(problemsOf(broken, 'main-gate', kinds.gate).sort(), [
    'components.door: unknown key colour',
    'components.event: event_types ["exploded"] are not the kind\'s events',
    `components.lock.state_topic: site/${SITE_ID}/gate/other-gate/state is not a gatehouse topic of main-gate`,
    'components.lock_button: payload_press duration_ms unknown key (allowed: none)',
    'components.unlock_button: command_topic missing',
  ]);
});

test('the entities of each kind: what the issue asks for is there', () => {
  const platforms = (kind: KindDefinition) => {
    const { payload } = deviceDiscovery(SITE_INFO, { id: 'x', name: 'X', driver: 'modbus', kind });
    return Object.fromEntries(Object.entries(payload.components as Record<string, Record<string, unknown>>).map(([key, c]) => [key, c.platform]));
  };
  assert.deepEqual(platforms(kinds.gate), { lock: 'sensor', door: 'binary_sensor', unlock_button: 'button', lock_button: 'button', event: 'event' });
  assert.deepEqual(platforms(kinds.turnstile), { mode: 'sensor', passages_in: 'sensor', passages_out: 'sensor', pass_in_button: 'button', pass_out_button: 'button', unlock_button: 'button', lock_button: 'button', event: 'event' });
  assert.deepEqual(platforms(kinds.barrier), { position: 'sensor', vehicle_present: 'binary_sensor', open_button: 'button', close_button: 'button', event: 'event' });
  assert.deepEqual(platforms(kinds.camera), {
    moving: 'binary_sensor',
    preset: 'sensor',
    clock_offset_ms: 'sensor',
    motion: 'binary_sensor',
    tamper: 'binary_sensor',
    events: 'sensor',
    snapshot_button: 'button',
    stop_button: 'button',
    event: 'event',
    image: 'camera',
  });
  // A button's payload: no id and no sent_at, so every press is a new command the gateway names.
  const gate = deviceDiscovery(SITE_INFO, DEVICES[0]).payload.components as Record<string, Record<string, unknown>>;
  assert.equal(gate.unlock_button.payload_press, '{}');
  const door = gate.door;
  assert.equal(door.value_template, '{% if value_json.door == "open" %}ON{% elif value_json.door == "closed" %}OFF{% else %}None{% endif %}');
});

test('homeassistant.prefix: a topic name outside gatehouse\'s own tree, named in the error', () => {
  for (const prefix of ['ha/#', 'site/hq', '$ha', 'ha/', '']) {
    const loaded = loadConfig({ document: { site: 'hq', homeassistant: { enabled: true, prefix } }, env: {} });
    assert.equal(loaded.ok, false, prefix);
    if (!loaded.ok) assert.ok(loaded.issues.some((i) => i.path === 'homeassistant.prefix'), JSON.stringify(loaded.issues));
  }
  const ok = loadConfig({ document: { site: 'hq' }, env: {} });
  assert.ok(ok.ok);
  if (ok.ok) assert.deepEqual(ok.config.homeassistant, { enabled: false, prefix: 'homeassistant' });
});

// ---------------------------------------------------------------------------------------------
// A real gateway

const BARRIER = { kind: 'barrier', id: 'garage', unit: 4 } as const;
const device = siteDevice({ units: [GATE_A.unit, GATE_B.unit, TURNSTILE.unit, BARRIER.unit] });

/** A barrier on unit 4 of the same pymodbus device (its loop clear, so open and close both finish). */
const barrierEntry = {
  id: BARRIER.id,
  kind: 'barrier',
  name: 'Garage barrier',
  driver: 'modbus',
  transport: 'plc',
  poll_ms: 100,
  offline_after: 2,
  command_timeout_ms: 2000,
  on_start: 'close',
  open_ms: 1000,
  obstructed_after_ms: 1000,
  options: { unit: BARRIER.unit, outputs: { open: { coil: 0 } }, inputs: { loop: { discrete_input: 0 } } },
};
const HA = { username: 'homeassistant', password: 'ha-secret-123' };

/** The user Home Assistant logs in as (docs/homeassistant.md): reads the site and the discovery prefix, publishes its status and the site's commands. */
async function haUser(): Promise<Record<string, unknown>> {
  return {
    username: HA.username,
    password_hash: await hashPassword(HA.password),
    publish: ['homeassistant/status', `site/${SITE}/+/+/+`],
    subscribe: ['homeassistant/#', `site/${SITE}/#`],
  };
}

const configsOf = (collector: Collector, from = 0): CollectedMessage[] => collector.messages.slice(from).filter((m) => m.topic.endsWith('/config'));

test('gateway: retained configs for every device, buttons that work, a republish on HA\'s online, removal at a reload', async (t) => {
  const document = await configDocument(device.port, tempDataDir(t));
  document.users = [...(document.users as unknown[]), await haUser()];
  document.devices = [...(document.devices as unknown[]), barrierEntry];
  document.homeassistant = { enabled: true };
  const gw = await startGatewayFrom(t, document);
  const ha = await connectClient({ port: gw.port, ...HA, clientId: 'home-assistant' });
  t.after(() => ha.endAsync(true));
  const discovery = await subscribeCollect(ha, 'homeassistant/#', 1);
  const expected = [GATE_A, GATE_B, TURNSTILE, BARRIER].map((ref) => configTopic('homeassistant', objectId(SITE, ref.kind, ref.id)));
  const gatewayTopic = configTopic('homeassistant', objectId(SITE, GATEWAY_KIND, GATEWAY_ID));
  await until('the retained configs', () => [...expected, gatewayTopic].every((topic) => discovery.messages.some((m) => m.topic === topic && m.retain)));

  // Every button, pressed as Home Assistant presses it: payload_press on command_topic at its QoS.
  const results = await subscribeCollect(ha, `site/${SITE}/+/+/result`, 1);
  const buttons = configsOf(discovery).flatMap((m) => Object.values((JSON.parse(m.payload.toString()) as { components: Record<string, Record<string, unknown>> }).components)).filter((c) => c.platform === 'button');
  assert.equal(buttons.length, 2 + 2 + 4 + 2, 'unlock and lock for each gate; pass in, pass out, unlock, lock for the turnstile; open and close for the barrier');
  for (const button of buttons) {
    const from = results.messages.length;
    await ha.publishAsync(button.command_topic as string, button.payload_press as string, { qos: button.qos as 1 });
    const resultTopic = (button.command_topic as string).replace(/[^/]+$/, 'result');
    const result = parseResult(await results.waitFor((m) => results.messages.indexOf(m) >= from && m.topic === resultTopic));
    assert.equal(result.status, 'ok', `${button.command_topic} ${button.payload_press}: ${result.message ?? ''}`);
    assert.match(result.id, /.+/, 'the gateway named the command');
  }

  // Home Assistant restarted: its birth brings every config again.
  const before = configsOf(discovery).length;
  await ha.publishAsync('homeassistant/status', 'online', { qos: 1 });
  await until('the configs again', () => {
    const again = configsOf(discovery, 0).slice(before).map((m) => m.topic);
    return [...expected, gatewayTopic].every((topic) => again.includes(topic));
  });
  // `offline` (its will) brings nothing; the next `online` (its round spaced 5 s after the last) ends the check.
  const mark = configsOf(discovery).length;
  await ha.publishAsync('homeassistant/status', 'offline', { qos: 1 });
  await ha.publishAsync('homeassistant/status', 'online', { qos: 1 });
  await until('the third round', () => configsOf(discovery).length >= mark + expected.length + 1);
  assert.equal(configsOf(discovery).slice(mark).filter((m) => m.topic === gatewayTopic).length, 1, 'one round for one online');

  // A reload that removes gate-b: its config is emptied (removed in HA), retained nowhere.
  const gateB = expected[1];
  await gw.gateway.reload(loadHarnessConfig({ ...document, devices: (document.devices as { id: string }[]).filter((d) => d.id !== GATE_B.id) }));
  await discovery.waitFor((m) => m.topic === gateB && m.payload.length === 0);
  const late = await connectClient({ port: gw.port, ...HA, clientId: uniqueId('ha-late') });
  t.after(() => late.endAsync(true));
  const lateB = await subscribeCollect(late, gateB, 1);
  const lateA = await subscribeCollect(late, expected[0], 1);
  await lateA.waitFor(() => true);
  assert.deepEqual(lateB.messages, [], 'no retained config for the removed gate');
});
