// Invariants every kind definition keeps, looped over the registry (as zigbee-herdsman-converters'
// index test loops over every device definition): a kind added tomorrow is held to them unread.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFields, type FieldSpecs } from '../../../src/config/fields.js';
import { commandCatalog, getKind, kinds } from '../../../src/devices/kinds/index.js';
import type { KindDefinition } from '../../../src/devices/kinds/types.js';
import type { Readings } from '../../../src/driver-api.js';
import { commandFilters, ID_PATTERN, RESERVED_LEAVES } from '../../../src/topics.js';
import { SECURITY_EVENTS } from '../../../src/uplink/message-class.js';
import { harness } from '../behaviour-harness.js';

const FIELD_TYPES = ['int', 'number', 'enum', 'string'];

function defaults(kind: KindDefinition) {
  return parseFields({}, kind.settings).values;
}

function argSpecs(kind: KindDefinition, command: string): FieldSpecs {
  const { args } = kind.commands[command];
  return typeof args === 'function' ? args(defaults(kind)) : args;
}

/** Every input read as off / zero: a quiet site (the loop of a barrier clear). */
function quietReadings(kind: KindDefinition): Readings {
  return Object.fromEntries([...kind.points.inputs.required, ...kind.points.inputs.optional].map((input) => [input, input.startsWith('passages') ? 0 : false]));
}

const definitions = Object.entries(kinds);

describe('every kind definition', () => {
  it('the registry holds gate, turnstile, camera and barrier, each under its own name', () => {
    assert.deepEqual(Object.keys(kinds).sort(), ['barrier', 'camera', 'gate', 'turnstile']);
    for (const [name, kind] of definitions) {
      assert.equal(kind.name, name);
      assert.equal(getKind(name), kind);
    }
    assert.equal(getKind('toString'), undefined, 'only own names');
  });

  for (const [name, kind] of definitions) {
    describe(name, () => {
      it('has a valid name and a one-line description', () => {
        assert.match(name, ID_PATTERN);
        assert.ok(kind.description.length > 0 && !kind.description.includes('\n'));
      });

      it('every command has a valid name, a doc, an argument schema and a run', () => {
        assert.ok(Object.keys(kind.commands).length > 0);
        for (const [command, definition] of Object.entries(kind.commands)) {
          assert.match(command, ID_PATTERN, command);
          assert.ok(!(RESERVED_LEAVES as readonly string[]).includes(command), `${command} would be a reserved topic leaf`);
          assert.ok(definition.doc.length > 0, `${command} has a doc`);
          assert.equal(typeof definition.run, 'function', `${command} has a run`);
          const specs = argSpecs(kind, command);
          for (const [arg, spec] of Object.entries(specs)) assert.ok(FIELD_TYPES.includes(spec.type), `${command}.${arg} has a field type`);
          for (const arg of definition.required ?? []) assert.ok(Object.hasOwn(specs, arg), `${command} requires ${arg}, which it has`);
          for (const [arg, spec] of Object.entries(specs)) {
            if (spec.type === 'int' || spec.type === 'number') assert.ok(spec.min <= spec.max, `${command}.${arg} can take a value with default settings`);
          }
        }
      });

      it('every setting has a default that passes its own spec, and the defaults pass the cross-field checks', () => {
        for (const [key, spec] of Object.entries(kind.settings)) assert.notEqual(spec.default, undefined, `${key} has a default`);
        const parsed = parseFields({}, kind.settings);
        assert.deepEqual(parsed.problems, []);
        assert.deepEqual(Object.keys(parsed.values).sort(), Object.keys(kind.settings).sort());
        for (const [key, spec] of Object.entries(kind.settings)) assert.deepEqual(parseFields({ [key]: spec.default }, kind.settings).problems, [], key);
        assert.deepEqual(kind.check(parsed.values), []);
      });

      it('every event is documented, and the security ones are known to the uplink', () => {
        assert.deepEqual([...kind.events].sort(), Object.keys(kind.eventDocs).sort());
        for (const [event, definition] of Object.entries(kind.eventDocs)) {
          assert.match(event, ID_PATTERN, event);
          assert.ok(definition.doc.length > 0, `${event} has a doc`);
          if (definition.security) assert.ok(SECURITY_EVENTS.has(event), `${event} is a security event in the outbox`);
        }
      });

      it('every point is named once, and every output has a safe state', () => {
        const outputs = [...kind.points.outputs.required, ...kind.points.outputs.optional];
        const inputs = [...kind.points.inputs.required, ...kind.points.inputs.optional];
        assert.equal(new Set([...outputs, ...inputs]).size, outputs.length + inputs.length);
        assert.deepEqual(Object.keys(kind.safeState).sort(), [...outputs].sort());
        for (const [output, doc] of Object.entries(kind.safeState)) assert.ok(doc.length > 0, `${output}: what happens on start`);
      });

      it('every state field is documented, before and after the device is read', async () => {
        for (const doc of Object.values(kind.state)) assert.ok(doc.length > 0);
        const h = harness(kind, {}, { inputs: () => quietReadings(kind) });
        const undocumented = (snapshot: Record<string, unknown>) => Object.keys(snapshot).filter((field) => !Object.hasOwn(kind.state, field));
        assert.deepEqual(undocumented(h.behaviour.snapshot()), []);
        assert.equal(typeof h.behaviour.snapshot().updated_at, 'number');
        h.behaviour.observe(quietReadings(kind), Number.POSITIVE_INFINITY);
        assert.deepEqual(undocumented(h.behaviour.snapshot()), []);
        await h.behaviour.stop();
      });

      it('with default settings, the safe state on start drives every output of a quiet site', async () => {
        const outputs = [...kind.points.outputs.required, ...kind.points.outputs.optional];
        if (outputs.length === 0) return; // a camera: nothing to drive
        const h = harness(kind, {}, { inputs: () => quietReadings(kind) });
        await h.behaviour.applySafeState();
        assert.deepEqual([...new Set(h.writes.map((w) => w.output))].sort(), [...outputs].sort());
        await h.behaviour.stop();
      });

      it('its commands are subscribed, one filter per command', () => {
        const filters = commandFilters('s', commandCatalog());
        for (const command of Object.keys(kind.commands)) assert.ok(filters.includes(`site/s/${name}/+/${command}`), command);
      });
    });
  }
});
