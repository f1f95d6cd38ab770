// The config of one gateway of the simulated fleet: site `fNNN`, a gate and a turnstile on the
// shared site simulator, a local user for the bench's tick publisher, and the uplink to the cloud
// broker (one URL, or the nodes of a cluster) with the site's own cloud login.

export const FLEET_GATEWAY = 'gw';
export const LOCAL_USER = 'bench';
export const GATE_ID = 'door';
export const TURNSTILE_ID = 'lobby';

export function siteId(index: number): string {
  return `f${String(index + 1).padStart(3, '0')}`;
}

/** The cloud password of a site (the bench's mosquitto password file has one per site). */
export function sitePassword(site: string): string {
  return `${site}-cloud-secret`;
}

/** The topic the bench's local publisher sends its numbered ticks to; forwarded to the cloud. */
export function tickTopic(site: string): string {
  return `site/${site}/app/tick`;
}

export interface FleetGatewayOptions {
  site: string;
  brokerPort: number;
  modbusPort: number;
  dataDir: string;
  passwordHash: string;
  /** One broker or the nodes of a cluster. */
  uplinkUrl: string | string[];
  /** The site's cloud login (none for an anonymous cloud). */
  cloudLogin?: { username: string; password: string };
}

export function fleetGatewayConfig(o: FleetGatewayOptions): Record<string, unknown> {
  const transport = { type: 'modbus-tcp', host: '127.0.0.1', port: o.modbusPort, timeout_ms: 1000, backoff: { initial_ms: 500, max_ms: 5000 } };
  return {
    site: o.site,
    gateway_id: FLEET_GATEWAY,
    data_dir: o.dataDir,
    log: { level: 'warn' },
    broker: { host: '127.0.0.1', port: o.brokerPort, anonymous: { enabled: false } },
    metrics: { enabled: false },
    users: [
      {
        username: LOCAL_USER,
        password_hash: o.passwordHash,
        publish: [`site/${o.site}/app/#`],
        subscribe: [`site/${o.site}/#`],
      },
    ],
    transports: { sim: transport },
    devices: [
      {
        id: GATE_ID,
        kind: 'gate',
        driver: 'modbus',
        transport: 'sim',
        poll_ms: 500,
        on_start: 'lock',
        options: { unit: 1, outputs: { unlock: { coil: 0 } }, inputs: { door: { discrete_input: 0 } } },
      },
      {
        id: TURNSTILE_ID,
        kind: 'turnstile',
        driver: 'modbus',
        transport: 'sim',
        poll_ms: 500,
        on_start: 'lock',
        options: {
          unit: 3,
          outputs: { pass_in: { coil: 0 }, pass_out: { coil: 1 }, free: { coil: 2 } },
          inputs: { passages_in: { input_register: 0 }, passages_out: { input_register: 1 } },
        },
      },
    ],
    uplink: {
      enabled: true,
      url: o.uplinkUrl,
      ...(o.cloudLogin ? { username: o.cloudLogin.username, password: o.cloudLogin.password } : {}),
      forward: [`site/${o.site}/app/#`],
      allow_commands: ['gate/lock'],
      // The defaults (1 s doubling, jittered), with a lower ceiling so that the bench stays short.
      backoff: { initial_ms: 1000, max_ms: 8000 },
      keepalive_s: 10,
      synchronous: 'NORMAL',
    },
  };
}
