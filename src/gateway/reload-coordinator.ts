// A reload (SIGHUP) applied to the running gateway: devices, transports, links, users and anonymous
// access, the commands and journal settings and the TLS files take effect; any other changed key is
// listed in the plan's `needsRestart` and keeps its running value. Devices whose entry and
// transport are unchanged are not touched: their queues, pulses and availability go on.
import type { Broker } from '../broker/broker.js';
import type { CommandPipeline } from '../commands/pipeline.js';
import type { GatehouseConfig } from '../config.js';
import type { Device } from '../devices/device.js';
import type { EventBus } from '../event-bus.js';
import type { Logger } from '../log.js';
import { planReload, type ReloadPlan } from '../service/reload.js';
import { commandPolicy } from './command-policy.js';
import { waitUntilConnected, type DeviceRegistry } from './device-registry.js';
import type { GatewayEvents } from './events.js';

export interface ReloadTarget {
  bus: EventBus<GatewayEvents>;
  devices: DeviceRegistry;
  broker: Broker;
  pipeline: CommandPipeline;
  /** Publishes a device's current state and availability (retained). */
  announce(device: Device): Promise<void>;
  publishGatewayState(): Promise<void>;
  /** Makes `config` the running one (what extensions read from now on). */
  adopt(config: Readonly<GatehouseConfig>): void;
  log: Logger;
}

export async function applyReload(target: ReloadTarget, previous: Readonly<GatehouseConfig>, next: Readonly<GatehouseConfig>): Promise<ReloadPlan> {
  const { bus, devices, broker, log } = target;
  const plan = planReload(previous, next);
  const { effective } = plan;
  target.adopt(effective);
  const outgoing = [...plan.devices.removed, ...plan.devices.changed].flatMap((id) => devices.get(id) ?? []);
  const retiredLinks = [...plan.transports.removed, ...plan.transports.changed].flatMap((name) => devices.transports.get(name) ?? []);

  // From here on a command for a removed device is `unknown_device`, and one for a changed device
  // meets its new instance, which answers `offline` until its safe state is applied.
  for (const id of plan.devices.removed) devices.delete(id);
  for (const name of plan.transports.removed) devices.deleteTransport(name);
  const newLinks = [...plan.transports.added, ...plan.transports.changed].map((name) => devices.addTransport(name, effective.transports[name]));
  const incoming: Device[] = [];
  for (const id of [...plan.devices.added, ...plan.devices.changed]) {
    const cfg = effective.devices.find((d) => d.id === id)!;
    try {
      incoming.push(devices.add(cfg));
    } catch (err) {
      devices.delete(id);
      log.error({ err, device: id }, 'could not build a device from the reloaded config; it is left out');
    }
  }

  // The old instances end as at a stop (a gate released mid-pulse is relocked) while their links
  // are still up; only then do the new instances reach the same hardware.
  await Promise.allSettled(outgoing.map((d) => d.stop()));
  for (const link of retiredLinks) await link.stop().catch((err) => log.error({ err }, 'could not stop a transport'));
  for (const link of newLinks) await link.start().catch((err) => log.error({ err }, 'could not start a transport'));
  await Promise.all(newLinks.map((t) => waitUntilConnected(t)));
  await Promise.all(incoming.map((d) => d.start()));
  for (const device of incoming) await target.announce(device);
  // A device that is gone, or lives on under another kind, leaves no retained topics (nor metric series) behind.
  for (const old of outgoing) {
    if (devices.get(old.id)?.kind.name === old.kind.name) continue;
    await bus.emitSettled('device.retired', { device: old });
  }

  // New links take over once the devices they name exist (src/extensions/links.ts).
  bus.emit('config.reloaded', { config: effective, plan });
  let access: { disconnected: number; updated: number } | undefined;
  if (plan.access) access = broker.updateAccess(effective.users.map((u) => ({ ...u })), { ...effective.broker.anonymous });
  if (plan.settings) target.pipeline.setPolicy(commandPolicy(effective));
  // Renewed certificate files at the same paths; files that cannot be used leave the old ones in use.
  await broker.reloadCertificates().catch((err) => log.error({ err }, 'tls certificates not reloaded; the previous ones stay in use'));
  await target.publishGatewayState();
  log.info(
    {
      devices: { added: plan.devices.added, removed: plan.devices.removed, changed: plan.devices.changed },
      transports: plan.transports,
      ...(plan.links ? { links: effective.links.length } : {}),
      ...(access ? { clients: access } : {}),
      needs_restart: plan.needsRestart,
    },
    'configuration reloaded',
  );
  return plan;
}
