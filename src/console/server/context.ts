// What the console server is given by the gateway (src/extensions/console.ts), and what each
// route handler gets for one request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Acl } from '../../broker/acl.js';
import type { Broker } from '../../broker/broker.js';
import type { DeviceCommissioningApi } from '../../commissioning/device-commissioning.js';
import type { Commit } from '../../commands/commit.js';
import type { Journal } from '../../commands/journal.js';
import type { CommandInput } from '../../commands/pipeline.js';
import type { CommandResult } from '../../commands/result.js';
import type { GatehouseConfig } from '../../config.js';
import type { Device } from '../../devices/device.js';
import type { EventBus } from '../../event-bus.js';
import type { GatewayEvents } from '../../gateway/events.js';
import type { Logger } from '../../log.js';
import type { ConsoleSession } from './sessions.js';

export interface ConsoleDeps {
  bus: EventBus<GatewayEvents>;
  devices: { get(id: string): Device | undefined; values(): Iterable<Device> };
  submit(input: CommandInput): Promise<CommandResult>;
  broker(): Pick<Broker, 'checkLogin' | 'userRules' | 'clientList'> | undefined;
  journal: Journal;
  commit: Commit;
  /** The running config (a reload replaces it). */
  config(): Readonly<GatehouseConfig>;
  gatewayState(): Record<string, unknown>;
  /** Read now and pulse (src/commissioning/); undefined while the gateway is not running. */
  commissioning?(): DeviceCommissioningApi | undefined;
  /** The config files the running config was read from (none for a config built in code). */
  configFiles?: string[];
  /** The page's files (index.html, assets/); src/console/ui by default. */
  uiDir?: string;
  log: Logger;
}

/** The logged-in user of a request, as the server sees them now. */
export interface ConsoleUser {
  username: string;
  admin: boolean;
  /** The user's MQTT publish/subscribe rules: what they may command. */
  acl: Acl;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** address:port of the browser. */
  peer: string;
  https: boolean;
  /** Present on every route but the public ones. */
  session?: ConsoleSession;
  user?: ConsoleUser;
  /** The parsed JSON body of a POST ({} when empty). */
  body: Record<string, unknown>;
}
