// Strict formats (src/config/formats.ts): a boolean is exactly true or false, in the file and in
// the environment; numbers from the environment are plain digits; lists are lists. Anything else
// is a config error naming the key and the value, and is never read as a different value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { loadConfig, parseConfigDocument } from '../../src/config.js';
import { strictBoolean, strictInteger } from '../../src/config/formats.js';
import { demo, expectIssue, issuesOf } from './support.js';

/** Spellings that YAML or a shell may hand us for "off" or "on": none of them is a boolean here. */
const NOT_BOOLEANS = ['no', 'off', '0', '', 'yes', 'on', '1', 'n', 'y'];
/** YAML 1.2 itself reads True/TRUE/False/FALSE as booleans; the environment has no such rule. */
const NOT_BOOLEANS_IN_ENV = [...NOT_BOOLEANS, 'False', 'TRUE', ' true'];
const BOOLEAN_KEYS = ['broker.anonymous.enabled', 'uplink.enabled', 'metrics.enabled', 'broker.tls.enabled', 'broker.ws.enabled', 'broker.tcp_enabled'];

const envName = (key: string) => `GATEHOUSE_${key.toUpperCase().replace(/\./g, '_')}`;

/** The demo config as YAML text with `key: <spelling>` written literally, then parsed as a file would be. */
function demoWith(key: string, spelling: string): unknown {
  const doc = demo();
  const path = key.split('.');
  let at = doc;
  for (const part of path.slice(0, -1)) at = at[part] ??= {};
  at[path[path.length - 1]] = `@@${path[path.length - 1]}@@`;
  // Written as the technician would type it: unquoted (the empty value quoted, as YAML needs).
  const text = YAML.stringify(doc).replace(`"@@${path[path.length - 1]}@@"`, spelling === '' ? '""' : spelling).replace(`@@${path[path.length - 1]}@@`, spelling === '' ? '""' : spelling);
  return parseConfigDocument(text, 'site.yaml');
}

describe('booleans', () => {
  for (const key of BOOLEAN_KEYS) {
    for (const spelling of NOT_BOOLEANS) {
      it(`${key}: ${JSON.stringify(spelling)} in the file is refused, naming key and value`, () => {
        const issues = issuesOf(demoWith(key, spelling));
        const hit = issues.find((i) => i.path === key);
        assert.ok(hit, `no issue at ${key}: ${JSON.stringify(issues)}`);
        assert.match(hit.message, /must be true or false, got /);
        // YAML reads 0 and 1 as numbers, the rest as text: either way the value is shown.
        assert.ok(hit.message.endsWith(`got ${/^[01]$/.test(spelling) ? spelling : JSON.stringify(spelling)}`), hit.message);
        assert.deepEqual(issues.map((i) => i.path), [key], 'the refused value is not also read as on (no "required when enabled" follow-ups)');
      });
    }
    for (const spelling of NOT_BOOLEANS_IN_ENV) {
      it(`${key}: ${JSON.stringify(spelling)} from ${envName(key)} is refused, naming key, value and variable`, () => {
        const issues = issuesOf(demo(), { [envName(key)]: spelling });
        expectIssue(issues, key, new RegExp(`must be true or false, got ${JSON.stringify(JSON.stringify(spelling)).slice(1, -1)} \\(from the environment variable ${envName(key)}\\)$`));
        assert.equal(issues.length, 1, JSON.stringify(issues));
      });
    }
  }

  it('true and false are read as themselves, in the file and from the environment', () => {
    for (const [spelling, value] of [['true', true], ['false', false]] as const) {
      const fromFile = loadConfig({ document: demoWith('broker.anonymous.enabled', spelling), env: {} });
      assert.ok(fromFile.ok && fromFile.config.broker.anonymous.enabled === value, JSON.stringify(fromFile));
      const fromEnv = loadConfig({ document: demo(), env: { GATEHOUSE_BROKER_ANONYMOUS_ENABLED: spelling, GATEHOUSE_METRICS_ENABLED: spelling } });
      assert.ok(fromEnv.ok, JSON.stringify(fromEnv));
      assert.equal(fromEnv.config.broker.anonymous.enabled, value);
      assert.equal(fromEnv.config.metrics.enabled, value);
    }
  });

  it('strictBoolean converts only the two spellings', () => {
    assert.equal(strictBoolean('true'), true);
    assert.equal(strictBoolean('false'), false);
    for (const spelling of NOT_BOOLEANS_IN_ENV) assert.equal(strictBoolean(spelling), spelling);
  });
});

describe('numbers from the environment', () => {
  const NOT_INTEGERS = ['80abc', '1e3', ' 5', '5 ', '0x10', '', '-1', '5.5', '+5', '05', 'Infinity'];
  const KEYS = [
    ['broker.port', 'must be an integer from 0 to 65535'],
    ['commands.timeout_ms', 'must be a positive integer'],
    ['commands.clock_skew_ms', 'must be an integer of at least 0'],
    ['broker.limits.max_inflight', 'must be an integer from 1 to 65535'],
    ['broker.login.lockout_ms', 'must be an integer from 1000 to'],
  ] as const;
  for (const [key, message] of KEYS) {
    it(`${key}: only plain digits are numbers`, () => {
      for (const text of NOT_INTEGERS) {
        const issues = issuesOf(demo(), { [envName(key)]: text });
        expectIssue(issues, key, new RegExp(`^${message}.*, got ${JSON.stringify(JSON.stringify(text)).slice(1, -1).replace(/[+.]/g, '\\$&')} \\(from the environment variable ${envName(key)}\\)$`));
      }
    });
  }

  it('plain digits are read as the number they spell', () => {
    const result = loadConfig({ document: demo(), env: { GATEHOUSE_BROKER_PORT: '0', GATEHOUSE_COMMANDS_TIMEOUT_MS: '7000', GATEHOUSE_COMMANDS_CLOCK_SKEW_MS: '0', GATEHOUSE_BROKER_LIMITS_MAX_INFLIGHT: '64' } });
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(
      [result.config.broker.port, result.config.commands.timeout_ms, result.config.commands.clock_skew_ms, result.config.broker.limits.max_inflight],
      [0, 7000, 0, 64],
    );
  });

  it('strictInteger converts digits only', () => {
    assert.equal(strictInteger('0'), 0);
    assert.equal(strictInteger('65535'), 65535);
    for (const text of ['80abc', '1e3', ' 5', '0x10', '', '-1', '5.5', '05']) assert.equal(strictInteger(text), text);
  });

  it('a quoted number in the file follows the same rule', () => {
    const doc = demo();
    doc.commands.timeout_ms = '7s';
    expectIssue(issuesOf(doc), 'commands.timeout_ms', /must be a positive integer, got "7s"$/);
  });
});

describe('lists', () => {
  it('a topic-filter list given as one string is refused, not split on commas', () => {
    const doc = demo();
    doc.broker.anonymous.subscribe = 'site/demo/#,site/other/#';
    expectIssue(issuesOf(doc), 'broker.anonymous.subscribe', /must be a list of MQTT topic filters/);
  });

  it('a command allow-list given as one string is refused', () => {
    const doc = demo();
    doc.uplink = { ...doc.uplink, allow_commands: 'gate/unlock' };
    expectIssue(issuesOf(doc), 'uplink.allow_commands', /must be a list of "kind\/command" entries/);
  });
});

describe('refused values and the rules across keys', () => {
  it('a refused value is not read as on by the cross-key rules, and the other problems are still all reported', () => {
    const doc = demo();
    doc.uplink = { enabled: 'no', backoff: { initial_ms: 5000, max_ms: 1000 } };
    const issues = issuesOf(doc);
    expectIssue(issues, 'uplink.enabled', /must be true or false, got "no"/);
    expectIssue(issues, 'uplink.backoff.max_ms', /must be at least uplink\.backoff\.initial_ms/);
    assert.equal(issues.some((i) => i.path === 'uplink.url'), false, 'no "url required when enabled" for a refused enabled');
  });
});
