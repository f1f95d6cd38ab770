// Waits until the gateway child answers on MQTT and reports every device online in its retained
// gateway state (DESIGN.md section 2: site/{site}/gateway/{gateway}/state).
import { connectClient, subscribeCollect, type MqttClient } from '../support/mqtt-client.js';

const RETRY_MS = 200;

export interface ReadyOptions {
  port: number;
  username: string;
  password: string;
  stateTopic: string;
  devices: number;
  timeoutMs: number;
  /** False once the gateway process has exited: stop waiting at once. */
  alive(): boolean;
  describe(): string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitForGatewayReady(o: ReadyOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let client: MqttClient | undefined;
  let lastError = '';
  while (!client) {
    if (!o.alive()) throw new Error(`gateway exited during start-up:\n${o.describe()}`);
    if (Date.now() > deadline) throw new Error(`gateway broker not reachable within ${o.timeoutMs} ms (${lastError}):\n${o.describe()}`);
    try {
      client = await connectClient({ port: o.port, username: o.username, password: o.password });
    } catch (err) {
      lastError = (err as Error).message;
      await sleep(RETRY_MS);
    }
  }
  try {
    const states = await subscribeCollect(client, o.stateTopic);
    const allOnline = (payload: Buffer) => {
      try {
        const state = JSON.parse(payload.toString('utf8')) as { devices?: { online?: number } };
        return state.devices?.online === o.devices;
      } catch {
        return false;
      }
    };
    await states.waitFor((m) => allOnline(m.payload), Math.max(1, deadline - Date.now())).catch((err: Error) => {
      throw new Error(`gateway did not report ${o.devices} devices online: ${err.message}\n${o.describe()}`);
    });
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}
