// The gateways of the simulated fleet: each a `gatehouse run` process (compiled, as the service
// runs) with its own config, data directory and local broker port, and a local QoS 1 client that
// publishes numbered ticks to a forwarded topic: every tick the gateway acknowledged must reach the
// cloud's consumers, whatever happens to the cloud broker.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectClient, type MqttClient } from '../support/mqtt-client.js';
import { freePort } from '../support/ports.js';
import { fleetGatewayConfig, LOCAL_USER, tickTopic, type FleetGatewayOptions } from './fleet-config.js';
import { NodeProcess } from './node-process.js';

const NODE_ARGS = ['--max-old-space-size=128'];
const LOCAL_CONNECT_MS = 120_000;

export class FleetGateway {
  readonly process: NodeProcess;
  /** Ticks the gateway acknowledged (PUBACK): 1..acked. */
  acked = 0;
  private local: MqttClient | undefined;
  private ticking = false;
  private pending = false;
  private inFlight: Promise<void> = Promise.resolve();

  private constructor(
    readonly site: string,
    readonly port: number,
    configFile: string,
    root: string,
  ) {
    this.process = new NodeProcess([...NODE_ARGS, 'dist/src/cli.js', 'run', '--config', configFile], root, { tsx: false });
  }

  static async create(root: string, dir: string, o: Omit<FleetGatewayOptions, 'brokerPort' | 'dataDir'>): Promise<FleetGateway> {
    const port = await freePort();
    const dataDir = join(dir, o.site);
    mkdirSync(dataDir, { recursive: true });
    const configFile = join(dataDir, 'gatehouse.json');
    writeFileSync(configFile, JSON.stringify(fleetGatewayConfig({ ...o, brokerPort: port, dataDir })));
    return new FleetGateway(o.site, port, configFile, root);
  }

  start(): Promise<void> {
    return this.process.start();
  }

  /** Connects the local tick client once the gateway's broker listens. */
  async connectLocal(password: string): Promise<void> {
    const deadline = Date.now() + LOCAL_CONNECT_MS;
    for (;;) {
      if (!this.process.running) throw new Error(`gateway ${this.site} exited:\n${this.process.outputTail()}`);
      try {
        this.local = await connectClient({ port: this.port, username: LOCAL_USER, password, clientId: `ticks-${this.site}` });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`gateway ${this.site}: local broker not reachable: ${(err as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** One tick, at QoS 1; counted once the gateway acknowledged it (it is then in its outbox). */
  tick(): void {
    if (!this.ticking || !this.local || this.pending) return;
    const client = this.local;
    this.pending = true;
    // One at a time per site, so that `acked` is exactly 1..acked.
    this.inFlight = this.inFlight.then(async () => {
      const n = this.acked + 1;
      await client.publishAsync(tickTopic(this.site), String(n), { qos: 1 });
      this.acked = n;
      this.pending = false;
    });
  }

  startTicks(): void {
    this.ticking = true;
  }

  async stopTicks(): Promise<void> {
    this.ticking = false;
    await this.inFlight;
  }

  async stop(): Promise<void> {
    this.ticking = false;
    await this.local?.endAsync(true).catch(() => undefined);
    await this.process.stop();
  }
}
