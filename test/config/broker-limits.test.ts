// broker.limits and broker.login in the config: defaults (the broker's own), file values,
// GATEHOUSE_* overrides, ranges with key paths, and the mapping to BrokerOptions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_BROKER_LIMITS } from '../../src/broker/broker.js';
import { brokerLimitsFromConfig, loginLimitsFromConfig } from '../../src/broker/client-limits.js';
import { DEFAULT_LOGIN_LIMITS } from '../../src/broker/login-limiter.js';
import { loadConfig, type GatehouseConfig } from '../../src/config.js';
import { demo, expectIssue, issuesOf } from './support.js';

function load(document: unknown, env: NodeJS.ProcessEnv = {}): Readonly<GatehouseConfig> {
  const result = loadConfig({ document, env });
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.issues, null, 2));
  return result.config;
}

test('without broker.limits and broker.login the broker gets exactly its built-in defaults', () => {
  const { broker } = load(demo());
  const limits = brokerLimitsFromConfig(broker.limits);
  for (const [key, value] of Object.entries(limits)) {
    assert.equal(value, DEFAULT_BROKER_LIMITS[key as keyof typeof DEFAULT_BROKER_LIMITS], key);
  }
  assert.deepEqual(loginLimitsFromConfig(broker.login), DEFAULT_LOGIN_LIMITS);
  assert.deepEqual(broker.limits, {
    max_connections: 1000,
    max_packet_bytes: 1_048_576,
    max_inflight: 10_000,
    max_topic_levels: 32,
    max_topic_length: 1024,
    max_subscriptions: 256,
    max_queued_messages: 1000,
    max_client_id_length: 128,
    session_expiry_s: 604_800,
  });
  assert.deepEqual(broker.login, { max_failures_per_address: 10, max_failures_per_username: 10, window_ms: 600_000, lockout_ms: 900_000, max_tracked: 10_000 });
});

test('values from the file and from GATEHOUSE_BROKER_LIMITS_* / GATEHOUSE_BROKER_LOGIN_* reach BrokerOptions', () => {
  const doc = demo();
  doc.broker.limits = { max_connections: 50, max_inflight: 200, max_topic_length: 512 };
  doc.broker.login = { max_failures_per_username: 0, lockout_ms: 60_000 };
  const { broker } = load(doc, { GATEHOUSE_BROKER_LIMITS_MAX_SUBSCRIPTIONS: '40', GATEHOUSE_BROKER_LOGIN_MAX_FAILURES_PER_ADDRESS: '25', GATEHOUSE_BROKER_LIMITS_SESSION_EXPIRY_S: '0' });
  assert.deepEqual(brokerLimitsFromConfig(broker.limits), {
    maxConnections: 50,
    maxPacketBytes: 1_048_576,
    maxInflight: 200,
    maxTopicLevels: 32,
    maxTopicLength: 512,
    maxSubscriptions: 40,
    maxQueuedMessages: 1000,
    maxClientIdLength: 128,
    sessionExpirySeconds: 0,
  });
  assert.deepEqual(loginLimitsFromConfig(broker.login), {
    ...DEFAULT_LOGIN_LIMITS,
    maxFailuresPerAddress: 25,
    maxFailuresPerUsername: 0,
    lockoutMs: 60_000,
  });
});

test('out-of-range values and unknown keys are reported with their key paths', () => {
  const doc = demo();
  doc.broker.limits = {
    max_connections: 0,
    max_packet_bytes: 100,
    max_inflight: 70_000,
    max_topic_levels: 4,
    max_topic_length: 263,
    max_subscriptions: 2.5,
    session_expiry_s: -1,
    max_queue: 5,
  };
  doc.broker.login = { window_ms: 0, max_failures_per_address: -1, max_tracked: 'lots' };
  const issues = issuesOf(doc, { GATEHOUSE_BROKER_LOGIN_LOCKOUT_MS: 'soon' });
  const expect = (path: string, message: RegExp) => expectIssue(issues, path, message);
  expect('broker.limits.max_connections', /from 1 to/);
  expect('broker.limits.max_packet_bytes', /from 1024 to 268435460/);
  expect('broker.limits.max_inflight', /from 1 to 65535/);
  expect('broker.limits.max_topic_levels', /from 5 to 100/);
  expect('broker.limits.max_topic_length', /from 264 to 65535/);
  expect('broker.limits.max_subscriptions', /integer/);
  expect('broker.limits.session_expiry_s', /from 0 to 315360000/);
  expect('broker.limits.max_queue', /unknown key|not declared/);
  expect('broker.login.window_ms', /from 1000/);
  expect('broker.login.max_failures_per_address', /from 0/);
  expect('broker.login.max_tracked', /integer/);
  expect('broker.login.lockout_ms', /integer/);
});
