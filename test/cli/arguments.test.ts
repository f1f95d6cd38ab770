// A command's arguments against its options in the table: optional values (`--watch [SECONDS]`),
// required options, unknown options with a suggestion, and --help next to a mistake.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nearest, parseArguments } from '../../src/cli/arguments.js';
import type { CommandSpec } from '../../src/cli/index.js';

const SPEC: Pick<CommandSpec, 'options'> = {
  options: {
    config: { type: 'string', short: 'c', value: 'FILE', description: 'the config', required: true },
    url: { type: 'string', value: 'URL', description: 'an address' },
    json: { type: 'boolean', description: 'json' },
    watch: { type: 'string', short: 'w', value: 'SECONDS', optionalValue: '2', description: 'redraw' },
  },
};

function values(args: string[]): Record<string, unknown> {
  const parsed = parseArguments(SPEC, args);
  assert.equal(parsed.action, 'run', JSON.stringify(parsed));
  return (parsed as { values: Record<string, unknown> }).values;
}

function error(args: string[]): string {
  const parsed = parseArguments(SPEC, args);
  assert.equal(parsed.action, 'error', JSON.stringify(parsed));
  return (parsed as { message: string }).message;
}

test('an option with an optional value: alone it takes the fallback, followed by a value it takes that', () => {
  assert.equal(values(['-c', 'f', '--watch']).watch, '2');
  assert.equal(values(['-c', 'f', '--watch', '5']).watch, '5');
  assert.equal(values(['-c', 'f', '--watch=7']).watch, '7');
  assert.equal(values(['-c', 'f', '-w']).watch, '2');
  assert.equal(values(['--watch', '-c', 'f']).watch, '2');
  const both = values(['-c', 'f', '--watch', '--json']);
  assert.equal(both.watch, '2');
  assert.equal(both.json, true);
  assert.equal(values(['-c', 'f']).watch, undefined);
});

test('options parse by long and short name; help is not among the values', () => {
  assert.deepEqual({ ...values(['-c', 'site.yaml', '--url', 'http://x', '--json']) }, { config: 'site.yaml', url: 'http://x', json: true });
});

test('a required option that is missing is named with its value placeholder', () => {
  assert.equal(error(['--json']), '--config FILE is required');
});

test('an unknown option is named, with the nearest option when it looks like a typo', () => {
  assert.equal(error(['-c', 'f', '--jsno']), 'unknown option --jsno (did you mean --json?)');
  assert.equal(error(['-c', 'f', '--confg=x']), 'unknown option --confg (did you mean --config?)');
  assert.equal(error(['-c', 'f', '--colour']), 'unknown option --colour');
  assert.equal(error(['-c', 'f', '-x']), 'unknown option -x');
});

test('positionals, missing values and values given to flags are errors of one line', () => {
  assert.equal(error(['-c', 'f', 'extra']), 'unexpected argument extra: this command takes only options');
  assert.match(error(['-c', 'f', '--url']), /^Option '--url <value>' argument missing$/);
  assert.match(error(['-c', 'f', '--json=yes']), /^Option '--json' does not take an argument$/);
  assert.match(error(['-c', 'f', '--url', '--json']), /^Option '--url' argument is ambiguous$/);
});

test('--help or -h anywhere asks for help, even next to a mistake or without a required option', () => {
  for (const args of [['--help'], ['-h'], ['--bogus', '--help'], ['-c', 'f', '-h'], ['--url', '--help']]) {
    assert.deepEqual(parseArguments(SPEC, args), { action: 'help' }, args.join(' '));
  }
});

test('nearest: a typo finds its name, an unrelated word finds nothing', () => {
  assert.equal(nearest('stauts', ['status', 'version', 'journal']), 'status');
  assert.equal(nearest('jurnal', ['status', 'version', 'journal']), 'journal');
  assert.equal(nearest('launch', ['status', 'version', 'journal']), undefined);
});

test('a command with operands gets them in order beside its options; a repeatable option every value it was given', () => {
  const spec: Pick<CommandSpec, 'options' | 'operands'> = {
    operands: 'modbus|onvif ADDRESS',
    options: {
      read: { type: 'string', value: 'SPEC', multiple: true, description: 'a read' },
      yes: { type: 'boolean', description: 'yes' },
    },
  };
  const parsed = parseArguments(spec, ['modbus', '--read', 'coils:0:8', 'tcp://h:502', '--read', 'holding:0:1', '--yes']);
  assert.equal(parsed.action, 'run', JSON.stringify(parsed));
  const { values, operands } = parsed as { values: Record<string, unknown>; operands: string[] };
  assert.deepEqual(operands, ['modbus', 'tcp://h:502']);
  assert.deepEqual(values.read, ['coils:0:8', 'holding:0:1']);
  assert.equal(values.yes, true);
  const none = parseArguments(spec, ['onvif']);
  assert.deepEqual(none.action === 'run' && none.values.read, undefined);
  // A command without operands still refuses them.
  assert.equal(error(['-c', 'f', 'extra']), 'unexpected argument extra: this command takes only options');
});
