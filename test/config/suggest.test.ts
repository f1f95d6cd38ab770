// "Did you mean": typos in keys and names get the nearest known word (src/config/suggest.ts), and
// config errors name devices and users by id, not by position.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editDistance, nearest, suggestionFor } from '../../src/config/suggest.js';
import { demo, expectIssue, issuesOf } from './support.js';

test('editDistance counts insertions, deletions and substitutions', () => {
  assert.equal(editDistance('commands', 'commands'), 0);
  assert.equal(editDistance('comands', 'commands'), 1);
  assert.equal(editDistance('anonymus', 'anonymous'), 1);
  assert.equal(editDistance('tranport', 'transport'), 1);
  assert.equal(editDistance('gate', 'gaet'), 1, 'a swap of neighbours is one edit');
  assert.equal(editDistance('gate', 'tage'), 2);
  assert.equal(editDistance('', 'abc'), 3);
});

test('nearest picks the closest likely typo, and nothing for an unrelated word', () => {
  assert.equal(nearest('comands', ['commands', 'metrics', 'uplink']), 'commands');
  assert.equal(nearest('Metrics', ['commands', 'metrics']), 'metrics');
  assert.equal(nearest('colour', ['commands', 'metrics', 'uplink']), undefined);
  assert.equal(suggestionFor('colour', ['site']), '');
  assert.equal(suggestionFor('sitte', ['site']), ' (did you mean "site"?)');
});

test('unknown keys in the fixed sections suggest the key meant', () => {
  const doc = demo();
  doc.comands = { timeout_ms: 1000 };
  doc.broker.anonymus = { enabled: false };
  doc.metrics = { ...doc.metrics, enable: true };
  doc.colour = 'blue';
  const issues = issuesOf(doc);
  expectIssue(issues, 'comands', /^unknown key \(did you mean "commands"\?\)$/);
  expectIssue(issues, 'broker.anonymus', /^unknown key \(did you mean "anonymous"\?\)$/);
  expectIssue(issues, 'metrics.enable', /^unknown key \(did you mean "enabled"\?\)$/);
  expectIssue(issues, 'colour', /^unknown key$/);
});

test('device errors name the device by id and suggest kinds, drivers, transports and keys', () => {
  const doc = demo();
  const gate = doc.devices.find((d: { id: string }) => d.id === 'main-gate');
  gate.kind = 'gaet';
  gate.driver = 'modbsu';
  gate.transport = 'simulatr';
  const turnstile = doc.devices.find((d: { kind: string }) => d.kind === 'turnstile');
  turnstile.comand_timeout_ms = 1000;
  doc.transports.simulator.timeout = 50;
  const issues = issuesOf(doc);
  expectIssue(issues, 'devices[main-gate].kind', /^unknown kind "gaet" \(did you mean "gate"\?\) \(known: /);
  expectIssue(issues, 'devices[main-gate].driver', /^unknown driver "modbsu" \(did you mean "modbus"\?\)/);
  expectIssue(issues, 'devices[main-gate].transport', /^no transport named "simulatr" \(did you mean "simulator"\?\) \(defined: /);
  expectIssue(issues, `devices[${turnstile.id}].comand_timeout_ms`, /unknown key for a turnstile \(did you mean "command_timeout_ms"\?\)/);
  expectIssue(issues, 'transports.simulator.timeout', /unknown key \(did you mean "timeout_ms"\?\)/);
});

test('a device without a usable id, and a second device with the same id, keep their position', () => {
  const doc = demo();
  const n = doc.devices.length;
  doc.devices.push({ ...doc.devices[0] }, { ...doc.devices[0], id: 'Main Gate' });
  const issues = issuesOf(doc);
  expectIssue(issues, `devices[${n}].id`, /duplicate device id "main-gate" \(also the 1st device\)/);
  expectIssue(issues, `devices[${n + 1}].id`, /a-z 0-9 _ -, got "Main Gate"/);
});

test('user errors name the user by username and suggest the key meant', () => {
  const doc = demo();
  doc.users[0].subscibe = ['site/demo/#'];
  doc.users[0].password_hash = 'plain';
  const name = doc.users[0].username;
  const issues = issuesOf(doc);
  expectIssue(issues, `users[${name}].subscibe`, /unknown key \(did you mean "subscribe"\?\)/);
  expectIssue(issues, `users[${name}].password_hash`, /gatehouse passwd/);
});
