// Everything gatehouse does to aedes 1.2.0, mqemitter 7.1.0 and aedes-persistence 11.0.0 beyond
// their public API, behind one version check: the guards in guards/ patch their internals, and a
// few reads below look at fields aedes does not document. The check refuses to start the broker
// when the installed versions are not the ones these were written for, instead of running
// unguarded (or broken) after an upgrade. The broker's own persistence (persistence/) implements
// aedes-persistence 11.0.0's interface as aedes 1.2.0 calls it, on top of that version's memory
// store. Upgrading means reading each guard's comment against the new code (and running the
// persistence conformance suite), then changing EXPECTED_VERSIONS and the pins in package.json
// (dependencies, overrides).
import type { Aedes, Client } from 'aedes';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BrokerError } from './errors.js';
import { guardMqEmitterDepth } from './guards/mqemitter-depth.js';
import { installPacketIdAllocator } from './guards/packet-id-allocator.js';
import { markResentDup } from './guards/persistence-dup.js';
import { guardPubacks, installPubackHold, releasePubackOnPublished } from './guards/puback-after-store.js';
import type { PublishSequencer } from './guards/publish-order.js';
import { GatehousePersistence } from './persistence/gatehouse-persistence.js';

export const EXPECTED_VERSIONS = { aedes: '1.2.0', mqemitter: '7.1.0', 'aedes-persistence': '11.0.0' } as const;

export type CompatPackage = keyof typeof EXPECTED_VERSIONS;
/** Version per package as its package.json says; null when the package was not found. */
export type PackageVersions = Record<CompatPackage, string | null>;

/** The access to aedes internals the broker uses, handed out only by aedesCompat() once the versions match. */
export interface AedesCompat {
  /**
   * Right after `new Aedes()`: the mqemitter recursion-depth guard, the publish sequencer on its
   * emit, and a QoS 1 PUBACK held until its message is stored and routed.
   */
  guardEmitter(aedes: Aedes, sequencer: PublishSequencer): void;
  /** Right after `aedes.listen()`: DUP on resent messages. */
  guardPersistence(aedes: Aedes): void;
  /** Right after `aedes.handle()`: outgoing packet identifiers skip those still in use; PUBACKs wait for the publish. */
  guardClient(client: Client, inUse: (id: number) => boolean): void;
  /**
   * Whether aedes stored QoS 2 PUBLISH `messageId` from `client` and awaits its PUBREL: on this
   * connection (client._inboundInflight), or in the persistent session it resumed, before a
   * reconnect or a restart (the persistence, as client.broker.persistence).
   */
  awaitingPubrel(client: Client, messageId: number): boolean;
  /** The clients aedes lists: connected ones, and closed ones until their subscriptions are gone. */
  clients(aedes: Aedes): Client[];
  hasClient(aedes: Aedes, clientId: string): boolean;
}

function resolveFrom(require: NodeJS.Require, name: string): string | null {
  try {
    return require.resolve(name);
  } catch {
    return null;
  }
}

/** The version in the package.json named `name` nearest above `entry`. */
function versionAbove(entry: string | null, name: string): string | null {
  if (entry === null) return null;
  for (let dir = dirname(entry); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === name) return typeof pkg.version === 'string' ? pkg.version : null;
    } catch {
      // no package.json here, or not one we can read: look further up
    }
    if (dirname(dir) === dir) return null;
  }
}

let installed: PackageVersions | null = null;

/** The versions this process loads: aedes as the broker imports it, the other two as aedes imports them. */
export function installedVersions(): PackageVersions {
  if (installed) return installed;
  const aedesEntry = resolveFrom(createRequire(import.meta.url), 'aedes');
  const fromAedes = aedesEntry === null ? null : createRequire(aedesEntry);
  const entryOf = (name: string) => (fromAedes ? resolveFrom(fromAedes, name) : null);
  installed = {
    aedes: versionAbove(aedesEntry, 'aedes'),
    mqemitter: versionAbove(entryOf('mqemitter'), 'mqemitter'),
    'aedes-persistence': versionAbove(entryOf('aedes-persistence'), 'aedes-persistence'),
  };
  return installed;
}

/** What differs between `found` and `expected`, as one sentence; null when nothing does. */
export function versionMismatch(found: PackageVersions, expected: Record<CompatPackage, string> = EXPECTED_VERSIONS): string | null {
  const names = Object.keys(expected) as CompatPackage[];
  const wrong = names.filter((name) => found[name] !== expected[name]);
  if (wrong.length === 0) return null;
  const wanted = names.map((name) => `${name} ${expected[name]}`).join(', ');
  const got = wrong.map((name) => `${name} ${found[name] ?? '(not found)'} (expected ${expected[name]})`).join(', ');
  return (
    `the broker's guards on aedes internals (src/broker/aedes-compat.ts) were written for ${wanted}, but ${got} ` +
    `${wrong.length === 1 ? 'is' : 'are'} installed; refusing to start. Install the expected versions ` +
    `(package.json pins them in dependencies and overrides) or review the guards against the new ones`
  );
}

function changed(what: string): BrokerError {
  return new BrokerError('BROKER_AEDES_INCOMPATIBLE', `${what} not as expected although the installed versions match (src/broker/aedes-compat.ts)`);
}

/** mqtt-packet as aedes loads it: the module object whose writeToStream aedes' lib/write.js calls. */
function mqttPacketOfAedes(): unknown {
  const aedesEntry = resolveFrom(createRequire(import.meta.url), 'aedes');
  if (aedesEntry === null) return null;
  try {
    return createRequire(aedesEntry)('mqtt-packet');
  } catch {
    return null;
  }
}

function mqOf(aedes: Aedes): unknown {
  return (aedes as unknown as { mq: unknown }).mq;
}

function persistenceOf(aedes: Aedes): unknown {
  return (aedes as unknown as { persistence: unknown }).persistence;
}

function clientTable(aedes: Aedes): Record<string, Client> {
  return (aedes as unknown as { clients?: Record<string, Client> }).clients ?? {};
}

const COMPAT: AedesCompat = Object.freeze({
  guardEmitter(aedes: Aedes, sequencer: PublishSequencer): void {
    if (!guardMqEmitterDepth(mqOf(aedes))) throw changed('mqemitter internals: recursion-depth guard');
    if (!sequencer.install(mqOf(aedes))) throw changed('mqemitter internals: publish-order guard');
    if (!installPubackHold(mqttPacketOfAedes()) || !releasePubackOnPublished(aedes)) throw changed('aedes publish internals: PUBACK-after-store guard');
  },
  guardPersistence(aedes: Aedes): void {
    if (!markResentDup(persistenceOf(aedes))) throw changed('aedes persistence internals: DUP-on-resend guard');
  },
  guardClient(client: Client, inUse: (id: number) => boolean): void {
    if (!installPacketIdAllocator(client, inUse)) throw changed('aedes client internals: packet identifier guard');
    if (!guardPubacks(client)) throw changed('aedes client internals: PUBACK-after-store guard');
  },
  awaitingPubrel(client: Client, messageId: number): boolean {
    if ((client as unknown as { _inboundInflight?: Set<number> })._inboundInflight?.has(messageId) === true) return true;
    const persistence = (client as unknown as { broker?: { persistence?: unknown } }).broker?.persistence;
    return persistence instanceof GatehousePersistence && persistence.awaitingPubrel(client.id, messageId);
  },
  clients(aedes: Aedes): Client[] {
    return Object.values(clientTable(aedes));
  },
  hasClient(aedes: Aedes, clientId: string): boolean {
    return clientTable(aedes)[clientId] !== undefined;
  },
});

/**
 * The one version check: the access to aedes internals when `found` (by default what this process
 * loads) are the expected versions; otherwise a BrokerError BROKER_AEDES_INCOMPATIBLE naming the
 * installed and the expected ones.
 */
export function aedesCompat(found: PackageVersions = installedVersions()): AedesCompat {
  const mismatch = versionMismatch(found);
  if (mismatch) throw new BrokerError('BROKER_AEDES_INCOMPATIBLE', mismatch);
  return COMPAT;
}
