// Home Assistant's birth ({prefix}/status `online`) republishes the discovery configs, but any client
// allowed to publish that topic can repeat it: births are coalesced and rounds spaced out.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { EventBus } from '../../src/event-bus.js';
import type { GatewayEvents } from '../../src/gateway/events.js';
import { HomeAssistantExtension } from '../../src/extensions/homeassistant.js';
import { kinds } from '../../src/devices/kinds/index.js';
import { gatewayDiscovery } from '../../src/homeassistant/discovery.js';
import { GATEWAY_ID, SITE, configDocument, loadHarnessConfig, testLogger } from '../support/site.js';
import { tempDataDir } from '../support/gateway.js';
import { until } from '../support/wait.js';

const SPACING_MS = 200;

async function started(t: TestContext) {
  const config = loadHarnessConfig({ ...(await configDocument(1, tempDataDir(t))), homeassistant: { enabled: true } });
  const bus = new EventBus<GatewayEvents>(testLogger());
  const published: { topic: string; at: number }[] = [];
  const gatewayTopic = gatewayDiscovery({ site: SITE, gatewayId: GATEWAY_ID, prefix: 'homeassistant', version: 'test' }).topic;
  const ext = new HomeAssistantExtension({
    bus,
    config: () => config,
    kinds,
    publishLocal: async (topic) => void published.push({ topic, at: Date.now() }),
    version: 'test',
    log: testLogger(),
    republishSpacingMs: SPACING_MS,
  });
  await ext.start();
  t.after(() => ext.stop());
  const rounds = () => published.filter((p) => p.topic === gatewayTopic).map((p) => p.at);
  const birth = (payload = 'online') => bus.emit('broker.published', { topic: 'homeassistant/status', payload: Buffer.from(payload), retain: false, clientId: 'ha' });
  return { ext, rounds, birth };
}

test('a flood of births is one round, and a flood within the spacing one more after it, not one each', async (t) => {
  const { ext, rounds, birth } = await started(t);
  assert.equal(rounds().length, 1, 'the round at start');
  for (let i = 0; i < 50; i++) birth();
  await ext.settled();
  assert.equal(rounds().length, 2, 'one round for 50 births that came before it began');
  for (let i = 0; i < 50; i++) birth();
  await ext.settled();
  const at = rounds();
  assert.equal(at.length, 3, 'one more round for the next 50');
  assert.ok(at[2] - at[1] >= SPACING_MS, `rounds ${at[2] - at[1]} ms apart`);
});

test('a birth after the spacing is answered at once, and `offline` sets nothing off', async (t) => {
  const { ext, rounds, birth } = await started(t);
  birth('offline');
  await ext.settled();
  assert.equal(rounds().length, 1);
  birth();
  await until('the round for the birth', () => rounds().length === 2);
  const first = rounds()[1];
  await until('the spacing has passed', () => Date.now() - first > SPACING_MS);
  const before = Date.now();
  birth();
  await ext.settled();
  assert.equal(rounds().length, 3);
  assert.ok(rounds()[2] - before < SPACING_MS, 'not held back: the last round was longer ago than the spacing');
});

test('a stop drops the round still waiting for the spacing', async (t) => {
  const { ext, rounds, birth } = await started(t);
  birth();
  birth();
  await until('the first round', () => rounds().length === 2);
  await ext.stop();
  assert.equal(rounds().length, 2, 'the waiting round was not published after the stop');
});
