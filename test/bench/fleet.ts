// A fleet, simulated (`npm run bench:fleet`): N gateway processes (default 50), each with a gate and
// a turnstile on one shared site simulator, uplinked to the cloud; the back end's consumer group
// receives every site's results, events and ticks (numbered QoS 1 messages from a local client of
// each gateway, forwarded by it). Two targets:
// - mosquitto: one broker with a login and an ACL per site (docs/fleet.md); cold start, then the
//   broker restarted under the running fleet: how long until every gateway is back with its birth,
//   how the reconnections spread (the backoff's jitter), what was lost (ticks acknowledged by a
//   gateway and never received), messages per second at the consumers, and what a site sends.
// - rabbitmq: a two-node RabbitMQ 3.10 cluster, each gateway listing both nodes (half of them the
//   other way round); the node of half the fleet is SIGKILLed: failover time, loss, messages per
//   second at a consumer on each node.
// Bounded: it stops by itself and prints the figures.
//
// usage: node --import tsx test/bench/fleet.ts [--gateways N] [--target mosquitto|rabbitmq|both] [--json FILE]
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hashPassword } from '../../src/broker/password.js';
import { SiteSimulator } from '../../src/simulator/site-simulator.js';
import { freePort } from '../support/ports.js';
import { startRabbitCluster } from '../support/rabbitmq.js';
import { makeTempDir } from '../support/temp.js';
import { BACKEND_USER, fleetAcl } from './fleet-acl.js';
import { FleetMosquitto } from './fleet-broker.js';
import { Commander, Consumer, FleetMonitor, connectCloudClient, ticksOf, type Login } from './fleet-cloud.js';
import { siteId, sitePassword } from './fleet-config.js';
import { FleetGateway } from './fleet-gateways.js';
import { histogram, percentiles, type Percentiles } from './fleet-figures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LOCAL_PASSWORD = 'bench-local-secret';
const BACKEND: Login = { username: BACKEND_USER, password: 'backend-cloud-secret' };
const TICK_MS = 1000;
const COMMAND_PERIOD_MS = 10_000;
const STEADY_MS = 30_000;
const OUTAGE_MS = 5_000;
const BIRTHS_TIMEOUT_MS = 240_000;
const DRAIN_TIMEOUT_MS = 60_000;

const { values } = parseArgs({
  options: {
    gateways: { type: 'string', default: '50' },
    target: { type: 'string', default: 'both' },
    json: { type: 'string' },
  },
});
const N = Number(values.gateways);
if (!Number.isInteger(N) || N < 2 || N > 500) throw new Error('--gateways must be an integer 2..500');
const target = values.target!;
if (!['mosquitto', 'rabbitmq', 'both'].includes(target)) throw new Error('--target must be mosquitto, rabbitmq or both');

const progress = (msg: string) => process.stderr.write(`[fleet] ${msg}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Fleet {
  gateways: FleetGateway[];
  sites: string[];
  ticker: NodeJS.Timeout | undefined;
}

async function startFleet(dir: string, modbusPort: number, passwordHash: string, urlOf: (i: number) => string | string[], login: boolean): Promise<Fleet> {
  const sites = Array.from({ length: N }, (_, i) => siteId(i));
  const gateways = await Promise.all(
    sites.map((site, i) =>
      FleetGateway.create(ROOT, dir, {
        site,
        modbusPort,
        passwordHash,
        uplinkUrl: urlOf(i),
        ...(login ? { cloudLogin: { username: site, password: sitePassword(site) } } : {}),
      }),
    ),
  );
  return { gateways, sites, ticker: undefined };
}

/** Spawns every gateway at once; resolves with the cold start: until every site's first birth arrived. */
async function coldStart(fleet: Fleet, monitor: FleetMonitor): Promise<{ allMs: number; perSite: Percentiles }> {
  const t0 = Date.now();
  await Promise.all(fleet.gateways.map((g) => g.start()));
  const births = await until(`the first birth of all ${N} gateways`, () => {
    const b = monitor.birthsFrom(1);
    return b.size === N && b;
  }, BIRTHS_TIMEOUT_MS);
  const times = [...births.values()].map((b) => b.at - t0);
  await Promise.all(fleet.gateways.map((g) => g.connectLocal(LOCAL_PASSWORD)));
  fleet.ticker = setInterval(() => fleet.gateways.forEach((g) => g.tick()), TICK_MS);
  fleet.gateways.forEach((g) => g.startTicks());
  return { allMs: Math.max(...times), perSite: percentiles(times) };
}

/** Messages per second at each consumer over `ms`. */
async function rates(consumers: Consumer[], ms: number): Promise<Record<string, number>> {
  const before = consumers.map((c) => c.total);
  const t0 = Date.now();
  await sleep(ms);
  const seconds = (Date.now() - t0) / 1000;
  return Object.fromEntries(consumers.map((c, i) => [c.name, Math.round(((c.total - before[i]) / seconds) * 10) / 10]));
}

/** Stops the ticks, waits until every acknowledged tick reached `consumers`: what was lost, and duplicates. */
async function drain(fleet: Fleet, consumers: Consumer[]): Promise<{ acked: number; lost: number; duplicates: number; drainMs: number }> {
  clearInterval(fleet.ticker);
  await Promise.all(fleet.gateways.map((g) => g.stopTicks()));
  const t0 = Date.now();
  const missing = () => fleet.gateways.reduce((sum, g) => sum + (g.acked - [...ticksOf(consumers, g.site)].filter((n) => n <= g.acked).length), 0);
  try {
    await until('every acknowledged tick at the consumers', () => missing() === 0, DRAIN_TIMEOUT_MS);
  } catch {
    // reported as lost below
  }
  const acked = fleet.gateways.reduce((sum, g) => sum + g.acked, 0);
  return { acked, lost: missing(), duplicates: consumers.reduce((sum, c) => sum + c.duplicates, 0), drainMs: Date.now() - t0 };
}

async function stopFleet(fleet: Fleet): Promise<void> {
  clearInterval(fleet.ticker);
  await Promise.all(fleet.gateways.map((g) => g.stop()));
}

/** A site's credentials used against another site: it must read nothing there and command nothing. */
async function isolationProbe(url: string, sites: string[], commander: Commander, consumers: Consumer[]): Promise<{ subscribeGranted: number; received: number; rogueCommandResult: boolean }> {
  const [own, other] = sites;
  const rogue = await connectCloudClient(url, `rogue-${own}`, { username: own, password: sitePassword(own) }, { clean: true });
  let received = 0;
  rogue.on('message', () => received++);
  const granted = await rogue.subscribeAsync({ [`site/${other}/#`]: { qos: 1 } });
  await rogue.publishAsync(`site/${other}/gate/door/unlock`, JSON.stringify({ id: 'rogue-unlock', sent_at: Date.now(), ttl_ms: 30_000 }), { qos: 1 });
  // A legitimate command after it: once its result is in, the rogue one would have been handled.
  await commander.send(other, 'lock', 'after-rogue');
  await until('the result of the command after the rogue one', () => consumers.some((c) => c.resultIds.has('after-rogue')), 30_000);
  await rogue.endAsync(true);
  return { subscribeGranted: granted[0]?.qos ?? -1, received, rogueCommandResult: consumers.some((c) => c.resultIds.has('rogue-unlock')) };
}

async function mosquittoTarget(modbusPort: number, passwordHash: string): Promise<Record<string, unknown>> {
  const dir = makeTempDir('fleet-mosquitto');
  const port = await freePort();
  const sites = Array.from({ length: N }, (_, i) => siteId(i));
  const broker = new FleetMosquitto(port, dir, [{ username: BACKEND_USER, password: BACKEND.password! }, ...sites.map((s) => ({ username: s, password: sitePassword(s) }))], fleetAcl());
  await broker.start();
  const monitor = await FleetMonitor.start(broker.url, BACKEND, 'fleet-monitor');
  const consumers = [await Consumer.start('backend-1', broker.url, BACKEND, true), await Consumer.start('backend-2', broker.url, BACKEND, true)];
  const commander = await Commander.start(broker.url, BACKEND, 'fleet-commander');
  const fleet = await startFleet(dir, modbusPort, passwordHash, () => broker.url, true);
  try {
    progress(`mosquitto: starting ${N} gateways at once`);
    const cold = await coldStart(fleet, monitor);
    progress(`mosquitto: every gateway up with its birth after ${cold.allMs} ms; steady for ${STEADY_MS / 1000} s`);
    commander.run(fleet.sites, COMMAND_PERIOD_MS);
    monitor.tallying = true;
    const tallyStart = Date.now();
    const steady = await rates(consumers, STEADY_MS);
    monitor.tallying = false;
    const tallySeconds = (Date.now() - tallyStart) / 1000;
    const isolation = await isolationProbe(broker.url, fleet.sites, commander, consumers);
    progress(`mosquitto: isolation ${JSON.stringify(isolation)}; restarting the broker (down ${OUTAGE_MS / 1000} s)`);

    commander.pause();
    await broker.stop();
    await sleep(OUTAGE_MS);
    await broker.start();
    const up = Date.now();
    const back = await until(`every gateway back with a birth`, () => {
      const b = monitor.birthsFrom(2);
      return b.size === N && b;
    }, BIRTHS_TIMEOUT_MS);
    const reconnect = [...back.values()].map((b) => b.at - up);
    progress(`mosquitto: every gateway back after ${Math.max(...reconnect)} ms`);
    commander.run(fleet.sites, COMMAND_PERIOD_MS);
    const after = await rates(consumers, 5000);
    commander.pause();
    const loss = await drain(fleet, consumers);
    const perSiteDay = [...monitor.tally.entries()].map(([leaf, t]) => ({
      leaf,
      messages_per_day: Math.round((t.messages / N / tallySeconds) * 86_400),
      bytes_per_day: Math.round((t.bytes / N / tallySeconds) * 86_400),
    }));
    return {
      target: 'mosquitto',
      gateways: N,
      cold_start_ms: { all: cold.allMs, per_gateway: cold.perSite },
      restart: { outage_ms: OUTAGE_MS, all_back_ms: Math.max(...reconnect), per_gateway: percentiles(reconnect), histogram: histogram(reconnect, 500) },
      consumer_rates_per_s: { steady, after_restart: after },
      results: consumers.map((c) => c.results).reduce((a, b) => a + b, 0),
      events: consumers.map((c) => c.events).reduce((a, b) => a + b, 0),
      commands_sent: commander.sent,
      ticks: loss,
      per_site_per_day: perSiteDay,
      isolation,
    };
  } finally {
    await stopFleet(fleet);
    await Promise.all([monitor.close(), commander.close(), ...consumers.map((c) => c.close())]);
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function rabbitTarget(modbusPort: number, passwordHash: string): Promise<Record<string, unknown>> {
  progress('rabbitmq: starting a two-node cluster');
  const cluster = await startRabbitCluster({ size: 2 });
  const dir = makeTempDir('fleet-rabbitmq');
  const [n1, n2] = cluster.nodes;
  try {
    const monitor = await FleetMonitor.start(n2.mqttUrl, {}, 'fleet-monitor');
    const consumers = [await Consumer.start('backend-on-node1', n1.mqttUrl, {}, false), await Consumer.start('backend-on-node2', n2.mqttUrl, {}, false)];
    const commander = await Commander.start(n2.mqttUrl, {}, 'fleet-commander');
    // Half the fleet prefers node 1, the other half node 2.
    const fleet = await startFleet(dir, modbusPort, passwordHash, (i) => (i % 2 === 0 ? [n1.mqttUrl, n2.mqttUrl] : [n2.mqttUrl, n1.mqttUrl]), false);
    try {
      progress(`rabbitmq: starting ${N} gateways at once`);
      const cold = await coldStart(fleet, monitor);
      progress(`rabbitmq: every gateway up with its birth after ${cold.allMs} ms; steady for ${STEADY_MS / 1000} s`);
      commander.run(fleet.sites, COMMAND_PERIOD_MS);
      const steady = await rates(consumers, STEADY_MS);
      const onNode1 = fleet.sites.filter((s) => monitor.latestNode(s) === n1.mqttUrl);
      progress(`rabbitmq: SIGKILL node 1 (${onNode1.length} gateways on it)`);
      const killedAt = Date.now();
      await n1.kill();
      // A gateway state queued while the link was between nodes also says `birth`: what counts is a birth naming node 2.
      const moved = await until('every gateway of node 1 on node 2 with a birth', () => {
        const found = onNode1.map((s) => monitor.birthOn(s, n2.mqttUrl, 2)).filter((x) => x !== undefined);
        return found.length === onNode1.length && found;
      }, BIRTHS_TIMEOUT_MS);
      const failover = moved.map((b) => b!.at - killedAt);
      progress(`rabbitmq: all moved after ${Math.max(...failover)} ms`);
      const after = await rates([consumers[1]], 5000);
      commander.pause();
      // The consumer on node 1 died with it: what counts is what the one on node 2 received.
      const loss = await drain(fleet, [consumers[1]]);
      return {
        target: 'rabbitmq-2-node-cluster',
        gateways: N,
        cold_start_ms: { all: cold.allMs, per_gateway: cold.perSite },
        failover: { gateways_moved: onNode1.length, all_moved_ms: Math.max(...failover), per_gateway: percentiles(failover), histogram: histogram(failover, 500) },
        consumer_rates_per_s: { steady, after_failover: after },
        ticks: loss,
      };
    } finally {
      await stopFleet(fleet);
      await Promise.all([monitor.close(), commander.close(), ...consumers.map((c) => c.close())]);
    }
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  progress('building dist/ (tsc) so the gateways run as compiled JavaScript');
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', ROOT], { stdio: 'inherit' });
  const simulator = new SiteSimulator({
    devices: [
      { unit: 1, kind: 'gate', name: 'door' },
      { unit: 3, kind: 'turnstile', name: 'lobby' },
    ],
    seed: 1,
  });
  const { port: modbusPort } = await simulator.start();
  const passwordHash = await hashPassword(LOCAL_PASSWORD);
  const results: Record<string, unknown>[] = [];
  try {
    // Each target's figures are printed as soon as it is done.
    for (const [name, run] of [['mosquitto', mosquittoTarget], ['rabbitmq', rabbitTarget]] as const) {
      if (target !== 'both' && target !== name) continue;
      const result = await run(modbusPort, passwordHash);
      progress(`${name} figures: ${JSON.stringify(result)}`);
      results.push(result);
    }
  } finally {
    await simulator.stop();
  }
  process.stdout.write(`\n${JSON.stringify(results, null, 2)}\n`);
  for (const r of results) {
    const spread = (r.restart ?? r.failover) as { histogram: string[] } | undefined;
    if (spread) process.stdout.write(`\n${r.target}: gateways back with their birth, by time after the broker ${r.restart ? 'came back' : 'node was killed'}\n${spread.histogram.join('\n')}\n`);
  }
  if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
  const bad = results.filter((r) => (r.ticks as { lost: number }).lost > 0 || (r.isolation as { received?: number; rogueCommandResult?: boolean } | undefined)?.rogueCommandResult || ((r.isolation as { received?: number } | undefined)?.received ?? 0) > 0);
  if (bad.length > 0) {
    process.stderr.write('[fleet] FAILED: messages lost or a site reached another one\n');
    process.exitCode = 1;
  }
}

await main();
