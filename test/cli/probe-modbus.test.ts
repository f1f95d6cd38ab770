// `gatehouse probe modbus` against Debian's pymodbus: over TCP, and over RTU on a socat pty pair;
// reads of each table, a confirmed write that the device then holds, a write refused without a
// terminal, a unit scan, and a clear error for every kind of bad input.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { cliEnv, PACKAGE_ROOT, runCli } from '../support/cli-process.js';
import { requireTool } from '../support/require-tool.js';
import { sharedModbusDevice, startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { freePort } from '../support/ports.js';
import { startPtyPair, type PtyPair } from '../support/pty-pair.js';
import { testLogger } from '../support/site.js';
import { DEMO_DEVICES } from '../../src/cli/simulate.js';
import { SiteSimulator } from '../../src/simulator/site-simulator.js';

const UNIT = 7;

function probe(...args: string[]) {
  return runCli(['probe', 'modbus', ...args]);
}

/** `gatehouse probe modbus ...args` on a terminal (util-linux script's pty), answering `answer` to its question. */
function probeOnTerminal(answer: string, ...args: string[]): Promise<{ code: number | null; output: string }> {
  const script = requireTool('script', 'bsdutils');
  const command = [process.execPath, '--import', 'tsx', 'src/cli.ts', 'probe', 'modbus', ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn(script, ['-qec', command, '/dev/null'], { cwd: PACKAGE_ROOT, env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stdin.end(`${answer}\n`);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

describe('over Modbus TCP', () => {
  const device = sharedModbusDevice({ units: [UNIT] });
  const address = () => `tcp://127.0.0.1:${device.port}`;

  test('reads each table, named by its addresses, and --json carries the same values', async () => {
    await device.set(UNIT, 'co', 0, [true, false, true, true, false, false, false, true, true]);
    await device.set(UNIT, 'di', 3, [true, false]);
    await device.set(UNIT, 'hr', 100, [1234, 0, 65535]);
    await device.set(UNIT, 'ir', 0, [42, 7]);
    const run = await probe(address(), '--unit', String(UNIT), '--read', 'coils:0:9', '--read', 'discrete:3:2', '--read', 'holding:100:3', '--read', 'input:0:2');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      [
        `modbus-tcp 127.0.0.1:${device.port}`,
        `unit ${UNIT} coils 0..8:`,
        '      0  1 0 1 1 0 0 0 1',
        '      8  1',
        `unit ${UNIT} discrete inputs 3..4:`,
        '      3  1 0',
        `unit ${UNIT} holding registers 100..102:`,
        '    100   1234  0x04d2',
        '    101      0  0x0000',
        '    102  65535  0xffff',
        `unit ${UNIT} input registers 0..1:`,
        '      0     42  0x002a',
        '      1      7  0x0007',
        '',
      ].join('\n'),
    );
    const json = await probe(address(), '--unit', String(UNIT), '--read', 'holding:100:3', '--read', 'coil:2:2', '--json');
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), {
      target: `modbus-tcp 127.0.0.1:${device.port}`,
      unit: UNIT,
      reads: [
        { table: 'holding_register', address: 100, count: 3, values: [1234, 0, 65535] },
        { table: 'coil', address: 2, count: 2, values: [true, true] },
      ],
    });
  });

  test('a write with --yes reaches the device, which then holds it; the probe reads it back', async () => {
    const coil = await probe(address(), '--unit', String(UNIT), '--write', 'coil:20=1', '--yes');
    assert.equal(coil.code, 0, coil.stderr);
    assert.match(coil.stdout, new RegExp(`wrote coil 20 = 1 to unit ${UNIT}; reads back 1`));
    assert.deepEqual(await device.get(UNIT, 'co', 20, 1), [true]);
    const register = await probe(address(), '--unit', String(UNIT), '--write', 'holding:30=4321', '--yes', '--json');
    assert.equal(register.code, 0, register.stderr);
    assert.deepEqual(JSON.parse(register.stdout).write, { table: 'holding_register', address: 30, value: 4321, readback: 4321 });
    assert.deepEqual(await device.get(UNIT, 'hr', 30, 1), [4321]);
    const zero = await probe(address(), '--unit', String(UNIT), '--write', 'holding:30=0', '--yes');
    assert.equal(zero.code, 0, zero.stderr);
    assert.deepEqual(await device.get(UNIT, 'hr', 30, 1), [0]);
  });

  test('a write without --yes and without a terminal is refused before anything is sent', async () => {
    const writesBefore = device.writes.length;
    const run = await probe(address(), '--unit', String(UNIT), '--write', 'coil:21=1', '--read', 'coils:21:1');
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, new RegExp(`write coil 21 = 1 to unit ${UNIT} at modbus-tcp 127\\.0\\.0\\.1:${device.port}\\? refused: a write needs confirmation on a terminal, or --yes`));
    // A sentinel write afterwards: had the refused one gone out, it would be recorded before it.
    const sentinel = await probe(address(), '--unit', String(UNIT), '--write', 'coil:22=1', '--yes');
    assert.equal(sentinel.code, 0, sentinel.stderr);
    await device.waitForWrite((w) => w.address === 22);
    assert.deepEqual(device.writes.slice(writesBefore).map((w) => [w.table, w.address]), [['co', 22]]);
    assert.deepEqual(await device.get(UNIT, 'co', 21, 1), [false]);
  });

  test('on a terminal the write asks first: y writes it, anything else writes nothing', async () => {
    const no = await probeOnTerminal('n', address(), '--unit', String(UNIT), '--write', 'coil:24=1');
    assert.equal(no.code, 1, no.output);
    assert.match(no.output, new RegExp(`write coil 24 = 1 to unit ${UNIT} at modbus-tcp 127\\.0\\.0\\.1:${device.port}\\? \\[y/N\\]`));
    assert.match(no.output, /gatehouse probe: nothing written/);
    const yes = await probeOnTerminal('y', address(), '--unit', String(UNIT), '--write', 'coil:25=1');
    assert.equal(yes.code, 0, yes.output);
    assert.match(yes.output, new RegExp(`wrote coil 25 = 1 to unit ${UNIT}; reads back 1`));
    await device.waitForWrite((w) => w.address === 25);
    assert.deepEqual(await device.get(UNIT, 'co', 24, 2), [false, true]);
    assert.equal(device.writes.filter((w) => w.address === 24).length, 0, 'the answer n wrote nothing');
  });

  test('a scan lists the one unit that answers', async () => {
    const run = await probe(address(), '--scan', `${UNIT - 2}-${UNIT + 1}`, '--timeout', '150', '--json');
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.deepEqual(report.scan.answered, [UNIT]);
    assert.deepEqual(report.scan.results.map((r: { unit: number; answered: boolean }) => [r.unit, r.answered]), [[UNIT - 2, false], [UNIT - 1, false], [UNIT, true], [UNIT + 1, false]]);
    const text = await probe(address(), '--scan', `${UNIT}-${UNIT + 1}`, '--timeout', '150');
    assert.match(text.stdout, new RegExp(`scan of units ${UNIT}-${UNIT + 1}: 1 answered: ${UNIT}\n  unit ${UNIT}: answers \\(value \\d+\\)\n`));
  });

  test('a Modbus exception is named, and the reads that worked are still shown', async () => {
    const run = await probe(address(), '--unit', String(UNIT), '--read', 'holding:65530:6', '--read', 'input:0:1');
    assert.equal(run.code, 1);
    assert.match(run.stdout, /holding registers 65530\.\.65535:\n  error: Modbus exception 2 \(illegal data address\) from unit 7/);
    assert.match(run.stdout, /input registers 0:\n      0 /);
    const json = await probe(address(), '--unit', String(UNIT), '--read', 'coils:65535:1', '--json');
    assert.equal(JSON.parse(json.stdout).reads[0].error.exception, 2);
  });

  test('a unit that never answers is a timeout naming the wait', async () => {
    await device.mute(UNIT, true);
    try {
      const run = await probe(address(), '--unit', String(UNIT), '--read', 'coils:0:1', '--timeout', '200');
      assert.equal(run.code, 1);
      assert.match(run.stdout, /error: no answer within 200 ms from unit 7 on probe reading coils 0\+1/);
    } finally {
      await device.mute(UNIT, false);
    }
  });
});

test('a scan behind a TCP gateway: exception 11 (the gateway answering that nothing did) is not a unit', async (t) => {
  // The site simulator answers for units it does not have as a Modbus TCP to RS-485 gateway does.
  const simulator = new SiteSimulator({ seed: 1, devices: DEMO_DEVICES, log: testLogger() });
  const { port } = await simulator.start();
  t.after(() => simulator.stop());
  const run = await probe(`tcp://127.0.0.1:${port}`, '--scan', '3-6', '--json');
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  assert.deepEqual(report.scan.answered, [3, 4]);
  assert.deepEqual(report.scan.results.slice(2).map((r: { error?: { exception?: number } }) => r.error?.exception), [11, 11]);
});

test('a refused connection says where and why', async () => {
  const port = await freePort();
  const run = await probe(`tcp://127.0.0.1:${port}`, '--read', 'coils:0:1');
  assert.equal(run.code, 1);
  assert.equal(run.stdout, '');
  assert.equal(run.stderr, `gatehouse probe: cannot connect to modbus-tcp 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`);
});

test('bad input: each mistake is named, exit 2, nothing is sent', async () => {
  const port = await freePort();
  const cases: [string[], RegExp][] = [
    [['modbus'], /probe modbus needs an address/],
    [['serial', 'x'], /unknown protocol "serial": modbus or onvif/],
    [['modbus', 'http://127.0.0.1:502', '--read', 'coils:0:1'], /"http:\/\/127\.0\.0\.1:502" is not a Modbus address; use tcp:\/\/HOST\[:PORT\] or rtu:/],
    [['modbus', 'tcp://127.0.0.1:99999', '--read', 'coils:0:1'], /is not a valid tcp:\/\/ URL/],
    [['modbus', 'tcp://127.0.0.1:502/x', '--read', 'coils:0:1'], /a Modbus TCP address is only tcp:\/\/HOST\[:PORT\]/],
    [['modbus', 'rtu:ttyUSB0', '--read', 'coils:0:1'], /path: must be the absolute path of a serial device/],
    [['modbus', 'rtu:/dev/ttyUSB0?baud=12', '--read', 'coils:0:1'], /baud_rate: .*300/],
    [['modbus', 'rtu:/dev/ttyUSB0?parity=mark', '--read', 'coils:0:1'], /parity: /],
    [['modbus', 'rtu:/dev/ttyUSB0?speed=9600', '--read', 'coils:0:1'], /"speed" is not a serial line setting; use baud, baud_rate, parity, data_bits, stop_bits/],
    [['modbus', `tcp://127.0.0.1:${port}`], /nothing to do: give --read/],
    [['modbus', `tcp://127.0.0.1:${port}`, '--read', 'registers:0:1'], /--read registers:0:1: unknown table "registers"/],
    [['modbus', `tcp://127.0.0.1:${port}`, '--read', 'coils:0'], /--read coils:0: expected TABLE:ADDRESS:COUNT/],
    [['modbus', `tcp://127.0.0.1:${port}`, '--read', 'coils:0:0'], /the count must be an integer 1\.\.2000/],
    [['modbus', `tcp://127.0.0.1:${port}`, '--read', 'holding:65535:2'], /runs past address 65535/],
    [['modbus', `tcp://127.0.0.1:${port}`, '--write', 'discrete:0=1'], /only coils and holding registers can be written/],
    [['modbus', `tcp://127.0.0.1:${port}`, '--write', 'coil:0=2'], /a coil takes 0 or 1/],
    [['modbus', `tcp://127.0.0.1:${port}`, '--write', 'holding:0=70000'], /a holding register takes an integer 0\.\.65535/],
    [['modbus', `tcp://127.0.0.1:${port}`, '--unit', '300', '--read', 'coils:0:1'], /--unit 300: expected a unit id 0\.\.247/],
    [['modbus', 'rtu:/dev/ttyUSB0', '--unit', '0', '--read', 'coils:0:1'], /--unit 0: must be 1\.\.247 on a serial bus \(0 is the broadcast address\)/],
    [['modbus', `tcp://127.0.0.1:${port}`, '--scan', '0-10'], /--scan 0-10: expected a unit range FIRST-LAST within 1-247/],
    [['modbus', `tcp://127.0.0.1:${port}`, '--scan', '1-5', '--read', 'coils:0:1'], /--scan goes alone/],
    [['modbus', `tcp://127.0.0.1:${port}`, '--read', 'coils:0:1', '--timeout', 'soon'], /--timeout soon: expected milliseconds/],
    [['modbus', `tcp://127.0.0.1:${port}`, '--read', 'coils:0:1', '--timeout', '5'], /--timeout: .*10/],
    [['modbus', `tcp://127.0.0.1:${port}`, '--read', 'coils:0:1', '--user', 'admin'], /--user is for probe onvif/],
  ];
  for (const [args, expected] of cases) {
    const run = await runCli(['probe', ...args]);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.equal(run.stdout, '', args.join(' '));
    assert.match(run.stderr, expected, args.join(' '));
  }
});

describe('over Modbus RTU on a socat pty pair', () => {
  const BAUD = 19_200;
  let pair: PtyPair;
  let device: ModbusDevice;
  before(async () => {
    pair = await startPtyPair();
    device = await startModbusDevice({ rtuPath: pair.b, baud: BAUD, units: [UNIT] });
  });
  after(async () => {
    await device?.stop();
    await pair?.dispose();
  });
  const address = () => `rtu:${pair.a}?baud=${BAUD}&parity=none&data_bits=8&stop_bits=1`;

  test('reads of each table, with the line settings from the address', async () => {
    await device.set(UNIT, 'co', 0, [false, true]);
    await device.set(UNIT, 'di', 0, [true]);
    await device.set(UNIT, 'hr', 4, [99]);
    await device.set(UNIT, 'ir', 2, [5]);
    const run = await probe(address(), '--unit', String(UNIT), '--read', 'coils:0:2', '--read', 'discrete:0:1', '--read', 'holding:4:1', '--read', 'input:2:1', '--json');
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.target, `modbus-rtu ${pair.a} ${BAUD} 8N1`);
    assert.deepEqual(report.reads.map((r: { values: unknown[] }) => r.values), [[false, true], [true], [99], [5]]);
  });

  test('a write with --yes, held by the device', async () => {
    const run = await probe(address(), '--unit', String(UNIT), '--write', 'holding:8=77', '--yes');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /wrote holding register 8 = 77 to unit 7; reads back 77/);
    assert.deepEqual(await device.get(UNIT, 'hr', 8, 1), [77]);
  });

  test('a scan of the bus finds the one unit', async () => {
    const run = await probe(address(), '--scan', `${UNIT - 1}-${UNIT + 1}`, '--timeout', '150', '--json');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout).scan.answered, [UNIT]);
  });

  test('a serial device that is not there: the open error names it', async () => {
    const missing = `${pair.a}-missing`;
    const run = await probe(`rtu:${missing}`, '--read', 'coils:0:1');
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`gatehouse probe: cannot connect to modbus-rtu ${missing} 9600 8N1: .*(No such file|ENOENT)`));
  });
});
