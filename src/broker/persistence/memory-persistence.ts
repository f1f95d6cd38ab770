// aedes-persistence 11.0.0's in-memory persistence (asyncPersistence.js, the promise API aedes
// 1.2.0 calls), loaded as aedes itself loads it. gatehouse-persistence.ts keeps subscriptions,
// retained messages and their wildcard matching in it (it passes the shared conformance suite as it
// is), and writes them through to the durable store.
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { StoredPacket, SubscriptionRecord } from './durable-state.js';

export interface ClientRef {
  id: string;
}

/** The match of a subscription to a topic (subscriptionsByTopic). */
export interface TopicSubscription {
  clientId: string;
  topic: string;
  qos: number;
  rh?: number;
  rap?: boolean;
  nl?: boolean;
}

/** The part of MemoryPersistence that gatehouse-persistence.ts delegates to. */
export interface MemoryPersistence {
  setup(broker: unknown): Promise<void>;
  storeRetained(packet: StoredPacket): Promise<void>;
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: string[]): Readable;
  addSubscriptions(client: ClientRef, subs: SubscriptionRecord[]): Promise<void>;
  removeSubscriptions(client: ClientRef, topics: string[]): Promise<void>;
  subscriptionsByClient(client: ClientRef): Promise<SubscriptionRecord[]>;
  countOffline(): Promise<{ subsCount: number; clientsCount: number }>;
  subscriptionsByTopic(topic: string): Promise<TopicSubscription[]>;
  cleanSubscriptions(client: ClientRef): Promise<void>;
  getClientList(topic: string): Readable;
  destroy(): Promise<void>;
}

/** aedes-packet's Packet: copies the fields aedes uses, numbers it, and clears messageId for QoS > 0. */
export type PacketConstructor = new (original: StoredPacket, broker?: unknown) => StoredPacket;

interface MemoryModule {
  new (opts?: object): MemoryPersistence;
  Packet: PacketConstructor;
}

let loaded: MemoryModule | undefined;

function memoryModule(): MemoryModule {
  if (loaded) return loaded;
  const fromHere = createRequire(import.meta.url);
  const fromAedes = createRequire(fromHere.resolve('aedes'));
  loaded = fromAedes('aedes-persistence/asyncPersistence.js') as MemoryModule;
  return loaded;
}

export function newMemoryPersistence(): MemoryPersistence {
  const Memory = memoryModule();
  return new Memory();
}

export function packetClass(): PacketConstructor {
  return memoryModule().Packet;
}
