// The broker's persistence without a durable store (broker.persistence: memory) runs the shared
// conformance suite, beside aedes-persistence's own memory store as the control. Its behaviour
// beyond the suite (queues, sessions, expiry) is tested here too.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { NO_DURABLE_STATE } from '../../../src/broker/persistence/durable-state.js';
import { GatehousePersistence } from '../../../src/broker/persistence/gatehouse-persistence.js';
import { aedesPersistenceConformance } from './conformance.js';

const fromAedes = createRequire(createRequire(import.meta.url).resolve('aedes'));
const aedesMemory = fromAedes('aedes-persistence') as () => unknown;

aedesPersistenceConformance('aedes-persistence memory (control)', () => aedesMemory(), { async: false });
aedesPersistenceConformance('GatehousePersistence, memory only', () => new GatehousePersistence({ state: NO_DURABLE_STATE }), { async: true });
