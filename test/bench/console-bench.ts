// What a connected technician console costs the gateway: the gateway's CPU (process.cpuUsage of
// this process, which runs it) while state changes flow, with no console client and with one
// (`curl -N` on /api/live, a separate process, so only the server's side is counted), in
// alternating phases of the same run; and the idle cost per minute of an open feed.
// Run: node --import tsx test/bench/console-bench.ts [commands per phase, default 400]
import { spawn, type ChildProcess } from 'node:child_process';
import { Gateway } from '../../src/gateway.js';
import { topics } from '../../src/topics.js';
import { connectClient } from '../support/mqtt-client.js';
import { startModbusDevice } from '../support/modbus-device.js';
import { configDocument, GATE_A, loadHarnessConfig, SITE, testLogger, USERS } from '../support/site.js';
import { makeTempDir, removeTempDir } from '../support/temp.js';

const COMMANDS = Number(process.argv[2] ?? 400);
const IDLE_MS = 10_000;

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

async function main(): Promise<void> {
  const device = await startModbusDevice({ units: [1, 2, 3] });
  const dataDir = makeTempDir('console-bench');
  const doc = (await configDocument(device.port, dataDir)) as Record<string, any>;
  doc.console = { enabled: true, host: '127.0.0.1', port: 0, requests_per_minute: 100_000 };
  doc.log = { level: 'silent' };
  const gateway = new Gateway(loadHarnessConfig(doc), testLogger());
  await gateway.start();
  const base = gateway.consoleUrl!.replace(/\/$/, '');
  const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(USERS.guard) });
  const cookie = login.headers.get('set-cookie')!.split(';')[0];
  const mqtt = await connectClient({ port: gateway.brokerPort, username: USERS.guard.username, password: USERS.guard.password });
  const stateTopic = topics.state(SITE, 'gate', GATE_A.id);
  const resultTopic = topics.result(SITE, 'gate', GATE_A.id);
  let states = 0;
  let results = 0;
  let resolveResult: (() => void) | undefined;
  mqtt.on('message', (topic) => {
    if (topic === stateTopic) states++;
    if (topic === resultTopic) {
      results++;
      resolveResult?.();
    }
  });
  await mqtt.subscribeAsync([stateTopic, resultTopic], { qos: 1 });

  const openFeed = async (): Promise<{ child: ChildProcess; bytes: () => number }> => {
    let bytes = 0;
    const child = spawn('curl', ['-sN', '-H', `Cookie: ${cookie}`, `${base}/api/live`]);
    child.on('error', (err) => {
      throw new Error(`curl is needed for this benchmark: ${err.message}`);
    });
    child.stdout.on('data', (c: Buffer) => (bytes += c.length));
    while (bytes === 0) await new Promise((r) => setTimeout(r, 20));
    return { child, bytes: () => bytes };
  };

  const commandPhase = async (): Promise<{ cpu: number; states: number }> => {
    const firstState = states;
    const start = process.cpuUsage();
    for (let i = 0; i < COMMANDS; i++) {
      const done = new Promise<void>((r) => (resolveResult = r));
      const command = i % 2 === 0 ? 'unlock' : 'lock';
      await mqtt.publishAsync(topics.command(SITE, 'gate', GATE_A.id, command), command === 'unlock' ? JSON.stringify({ duration_ms: 60_000 }) : '', { qos: 1 });
      await done;
    }
    return { cpu: cpuMs(start), states: states - firstState };
  };

  const idlePhase = async (): Promise<number> => {
    const start = process.cpuUsage();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return (cpuMs(start) * 60_000) / IDLE_MS;
  };

  await commandPhase(); // warm-up
  const rows: string[] = [];
  for (const round of [1, 2]) {
    const without = await commandPhase();
    const feed = await openFeed();
    const withFeed = await commandPhase();
    const feedBytes = feed.bytes();
    feed.child.kill();
    rows.push(
      `round ${round}: per 1000 state changes: no console ${((without.cpu * 1000) / without.states).toFixed(0)} ms CPU, one console feed ${((withFeed.cpu * 1000) / withFeed.states).toFixed(0)} ms CPU (${without.states} and ${withFeed.states} state changes, feed read ${feedBytes} bytes)`,
    );
  }
  const idleWithout = await idlePhase();
  const feed = await openFeed();
  const idleWith = await idlePhase();
  feed.child.kill();
  rows.push(`idle, per minute: no console ${idleWithout.toFixed(0)} ms CPU, one console feed ${idleWith.toFixed(0)} ms CPU`);
  console.log(`console bench (${COMMANDS} commands per phase, gate unlock/lock over MQTT, ${results} results):`);
  for (const row of rows) console.log(`  ${row}`);
  await mqtt.endAsync();
  await gateway.stop();
  await device.stop();
  removeTempDir(dataDir);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
