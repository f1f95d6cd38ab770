// `gatehouse <command> --help` for every command, `gatehouse help`, and what an unknown command or
// option gets: the help is generated from the table in src/cli/index.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandHelp, overview } from '../../src/cli/help.js';
import { commands } from '../../src/cli/index.js';
import { runCli } from '../support/cli-process.js';

test('each command\'s help names every option with its value and default, and the summary', () => {
  for (const [name, spec] of Object.entries(commands)) {
    const help = commandHelp(name, spec);
    const flat = help.replace(/\s+/g, ' ');
    assert.ok(help.startsWith(`gatehouse ${name}: ${spec.summary}\n`), name);
    assert.match(help, new RegExp(`\\nusage: gatehouse ${name}\\b`));
    for (const [option, o] of Object.entries(spec.options)) {
      const flag = o.type === 'boolean' ? `--${option}` : o.optionalValue !== undefined ? `--${option} [${o.value}]` : `--${option} ${o.value}`;
      assert.ok(help.includes(`${o.short ? `-${o.short}, ` : '    '}${flag}`), `${name} help lists ${flag}:\n${help}`);
      assert.ok(flat.includes(o.description.replace(/\s+/g, ' ')), `${name} --${option}: description`);
      if (o.default !== undefined) assert.ok(flat.includes(`default: ${o.default}`), `${name} --${option}: default ${o.default}\n${help}`);
      if (o.required) assert.match(help, new RegExp(`\\nusage: gatehouse ${name} [^\\n]*--${option} ${o.value}`), `${name}: --${option} in the usage line`);
    }
    assert.match(help, /\n {2}-h, --help +this help\n/);
    for (const line of help.split('\n')) assert.ok(line.length <= 100, `${name}: line of ${line.length} characters: ${line}`);
  }
});

test('gatehouse <command> --help, -h and gatehouse help <command> print it and exit 0, for every command', async () => {
  for (const [name, spec] of Object.entries(commands)) {
    const expected = commandHelp(name, spec);
    for (const args of [[name, '--help'], [name, '-h'], ['help', name]]) {
      const run = await runCli(args);
      assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(run.stdout, expected, args.join(' '));
      assert.equal(run.stderr, '');
    }
  }
});

test('gatehouse --help and gatehouse help list every command with its summary; no command is a usage error', async () => {
  const text = overview(commands);
  for (const [name, spec] of Object.entries(commands)) assert.match(text, new RegExp(`\\n  ${name} +${spec.summary.slice(0, 30).replace(/[()]/g, '\\$&')}`));
  for (const args of [['--help'], ['-h'], ['help']]) {
    const run = await runCli(args);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, text);
  }
  const bare = await runCli([]);
  assert.equal(bare.code, 2);
  assert.equal(bare.stdout, '');
  assert.equal(bare.stderr, text);
});

test('an unknown command or option exits 2, names it, suggests the nearest and points to --help', async () => {
  const command = await runCli(['stauts']);
  assert.equal(command.code, 2);
  assert.match(command.stderr, /^gatehouse: unknown command "stauts" \(did you mean status\?\)\n/);
  const option = await runCli(['journal', '--data-dri', 'x']);
  assert.equal(option.code, 2);
  assert.equal(option.stderr, 'gatehouse journal: unknown option --data-dri (did you mean --data-dir?)\n(gatehouse journal --help lists the options)\n');
  const unknownHelp = await runCli(['help', 'launch']);
  assert.equal(unknownHelp.code, 2);
  assert.match(unknownHelp.stderr, /unknown command "launch"/);
  const positional = await runCli(['version', 'extra']);
  assert.equal(positional.code, 2);
  assert.match(positional.stderr, /^gatehouse version: unexpected argument extra/);
});
