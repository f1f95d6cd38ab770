// systemd/gatehouse.service: its exposure score, systemd-analyze verify, and the settings the
// gateway depends on (readiness, watchdog, serial ports, network, state and config directories).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_STOP_TIMEOUT_MS } from '../../src/cli/service.js';
import { requireTool } from '../support/require-tool.js';
import { PACKAGE_ROOT, parseUnit, renderUnit, UNIT_FILE } from './unit-file.js';
import { sharedTempDir } from '../support/temp.js';

const MAX_EXPOSURE = 2.0;
const TOOL_TIMEOUT_MS = 60_000;

const systemdAnalyze = requireTool('systemd-analyze', 'systemd');
const unit = parseUnit(readFileSync(UNIT_FILE, 'utf8'));
const service = (key: string): string[] => unit.Service?.[key] ?? [];
const only = (key: string): string | undefined => service(key).at(-1);

/** systemd time spans as the unit writes them: 30s, 2min, 90 (seconds). */
function seconds(span: string | undefined): number {
  const match = /^(\d+)\s*(s|min)?$/.exec(span ?? '');
  assert.ok(match, `unsupported time span ${JSON.stringify(span)}`);
  return Number(match[1]) * (match[2] === 'min' ? 60 : 1);
}

describe('systemd/gatehouse.service', () => {
  const tempDir = sharedTempDir('unit');

  it(`has an exposure of at most ${MAX_EXPOSURE.toFixed(1)} in systemd-analyze security`, (t) => {
    const run = spawnSync(systemdAnalyze, ['security', '--offline=true', '--no-pager', UNIT_FILE], { encoding: 'utf8', timeout: TOOL_TIMEOUT_MS });
    assert.equal(run.error, undefined, `systemd-analyze security could not run: ${run.error?.message}`);
    const match = /Overall exposure level for gatehouse\.service:\s*(\d+(?:\.\d+)?)/.exec(run.stdout);
    assert.ok(match, `no overall exposure in the output of systemd-analyze security:\n${run.stdout}\n${run.stderr}`);
    const exposure = Number(match[1]);
    t.diagnostic(`exposure ${exposure.toFixed(1)} (at most ${MAX_EXPOSURE.toFixed(1)} allowed)`);
    assert.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure} is above ${MAX_EXPOSURE}:\n${run.stdout}`);
  });

  it('passes systemd-analyze verify as installed (ExecStart with this node)', () => {
    const installed = join(tempDir, 'gatehouse.service');
    writeFileSync(installed, renderUnit(process.execPath, '/opt/gatehouse'));
    const run = spawnSync(systemdAnalyze, ['verify', installed], { encoding: 'utf8', timeout: TOOL_TIMEOUT_MS });
    assert.equal(run.error, undefined, `systemd-analyze verify could not run: ${run.error?.message}`);
    // Other units of this machine may draw warnings too; any line about ours fails the test.
    const aboutUs = `${run.stdout}\n${run.stderr}`.split('\n').filter((line) => line.includes('gatehouse'));
    assert.deepEqual(aboutUs, [], `systemd-analyze verify complains about the unit:\n${run.stderr}`);
    assert.equal(run.status, 0, `systemd-analyze verify exited ${run.status}:\n${run.stderr}`);
  });

  it('the verify check above does catch a broken unit (an unknown key, a bad value, a missing node)', () => {
    // systemd-analyze verify exits 0 on unknown keys and unparsable values (it only warns): the
    // test above must read its lines, and this control shows that it does.
    const broken = join(tempDir, 'broken', 'gatehouse.service');
    mkdirSync(dirname(broken), { recursive: true });
    const rendered = renderUnit(process.execPath, '/opt/gatehouse');
    writeFileSync(broken, rendered.replace('\nUMask=0077\n', '\nUMask=0077\nProtectSystemm=strict\nProtectHome=sometimes\n').replace(`ExecStart=${process.execPath} `, 'ExecStart=/nonexistent/node '));
    const run = spawnSync(systemdAnalyze, ['verify', broken], { encoding: 'utf8', timeout: TOOL_TIMEOUT_MS });
    const aboutUs = `${run.stdout}\n${run.stderr}`.split('\n').filter((line) => line.includes('gatehouse'));
    for (const complaint of [/Unknown key.*ProtectSystemm/, /protect home value.*sometimes/, /\/nonexistent\/node/]) {
      assert.ok(aboutUs.some((line) => complaint.test(line)), `no complaint matching ${complaint}:\n${aboutUs.join('\n')}`);
    }
  });

  it('runs the compiled CLI named in package.json "bin" with the installed config', () => {
    const bin = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).bin.gatehouse as string;
    assert.equal(only('ExecStart'), `/usr/bin/node /opt/gatehouse/${bin} run --config /etc/gatehouse/gatehouse.yaml`);
    assert.equal(only('ExecReload'), '/bin/kill -HUP $MAINPID');
  });

  it('waits for READY=1, is watched by the watchdog and restarts', () => {
    assert.equal(only('Type'), 'notify');
    assert.equal(only('NotifyAccess'), 'main');
    assert.ok(seconds(only('WatchdogSec')) >= 10, 'WatchdogSec too short for a busy 2-core gateway');
    assert.equal(only('Restart'), 'always');
    assert.ok(seconds(only('RestartSec')) >= 1);
    assert.ok(Number(unit.Unit?.StartLimitBurst?.at(-1)) >= 3);
    assert.ok(seconds(unit.Unit?.StartLimitIntervalSec?.at(-1)) > 0);
  });

  it("gives the gateway's own clean-stop bound time before systemd kills it", () => {
    assert.ok(
      seconds(only('TimeoutStopSec')) * 1000 > DEFAULT_STOP_TIMEOUT_MS,
      `TimeoutStopSec=${only('TimeoutStopSec')} must exceed the gateway's stop bound of ${DEFAULT_STOP_TIMEOUT_MS} ms`,
    );
  });

  it('runs as the gatehouse user with its state and config directories', () => {
    assert.equal(only('User'), 'gatehouse');
    assert.equal(only('DynamicUser'), undefined);
    assert.equal(only('StateDirectory'), 'gatehouse');
    assert.ok(service('Environment').includes('GATEHOUSE_DATA_DIR=%S/gatehouse'));
    assert.equal(only('ConfigurationDirectory'), 'gatehouse');
    assert.equal(only('UMask'), '0077');
    assert.ok(Number(only('LimitNOFILE')) >= 16_384, 'every MQTT client needs a file descriptor');
  });

  it('sizes the V8 heap with NODE_OPTIONS flags this node accepts and applies', () => {
    const assignment = service('Environment').find((e) => e.startsWith('"NODE_OPTIONS='));
    assert.ok(assignment !== undefined && assignment.endsWith('"'), `a quoted NODE_OPTIONS assignment (unquoted, systemd splits it at the space): ${service('Environment').join(' | ')}`);
    const nodeOptions = assignment.slice('"NODE_OPTIONS='.length, -1);
    assert.match(nodeOptions, /--max-semi-space-size=\d+/);
    assert.match(nodeOptions, /--max-old-space-size=\d+/);
    const limit = (env: NodeJS.ProcessEnv) => {
      const run = spawnSync(process.execPath, ['-e', "process.stdout.write(String(require('v8').getHeapStatistics().heap_size_limit))"], { encoding: 'utf8', env, timeout: TOOL_TIMEOUT_MS });
      assert.equal(run.status, 0, `node refused NODE_OPTIONS=${env.NODE_OPTIONS ?? ''}: ${run.stderr}`);
      assert.equal(run.stderr, '');
      return Number(run.stdout);
    };
    const { NODE_OPTIONS: _ignored, ...plain } = process.env;
    const oldSpaceMb = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions)![1]);
    const capped = limit({ ...plain, NODE_OPTIONS: nodeOptions });
    assert.ok(capped < oldSpaceMb * 2 * 1024 * 1024, `heap limit ${capped} B follows --max-old-space-size=${oldSpaceMb}`);
    assert.notEqual(capped, limit(plain), 'the flags change the heap limit');
  });

  it("fixes glibc's mmap threshold so the 16 MiB of each login's scrypt goes back to the system", () => {
    assert.ok(service('Environment').includes('MALLOC_MMAP_THRESHOLD_=131072'), service('Environment').join(' | '));
  });

  it('can still open serial ports: dialout, a device ACL with the tty classes, no PrivateDevices', () => {
    assert.ok(service('SupplementaryGroups').join(' ').split(/\s+/).includes('dialout'));
    assert.notEqual(only('PrivateDevices'), 'yes', 'PrivateDevices=yes hides /dev/ttyUSB* and /dev/ttyS*');
    assert.equal(only('DevicePolicy'), 'closed');
    const allowed = service('DeviceAllow');
    for (const tty of ['char-ttyS', 'char-ttyUSB', 'char-ttyACM']) assert.ok(allowed.includes(`${tty} rw`), `DeviceAllow=${tty} rw missing`);
  });

  it('can listen and reach the cloud: inet and unix sockets, no IP deny list', () => {
    const families = service('RestrictAddressFamilies').join(' ').split(/\s+/);
    for (const family of ['AF_INET', 'AF_INET6', 'AF_UNIX']) assert.ok(families.includes(family), `${family} not allowed`);
    assert.equal(only('IPAddressDeny'), undefined);
    assert.equal(only('PrivateNetwork'), undefined);
  });

  it("lets V8's JIT map writable executable memory", () => {
    assert.notEqual(only('MemoryDenyWriteExecute'), 'yes');
  });
});

describe('systemd/render-unit.sh', () => {
  it('changes only the node of ExecStart and the app prefix', () => {
    const template = readFileSync(UNIT_FILE, 'utf8').split('\n');
    const rendered = renderUnit('/usr/local/bin/node', '/srv/gatehouse').split('\n');
    assert.equal(rendered.length, template.length);
    const changed = rendered.filter((line, i) => line !== template[i]);
    assert.deepEqual(changed, [
      'Documentation=file:/srv/gatehouse/README.md',
      'ExecStart=/usr/local/bin/node /srv/gatehouse/dist/src/cli.js run --config /etc/gatehouse/gatehouse.yaml',
    ]);
  });

  it('refuses relative paths and paths with spaces', () => {
    for (const args of [['node', '/opt/gatehouse'], ['/usr/bin/node', '/opt/gate house']]) {
      const run = spawnSync('bash', [join(PACKAGE_ROOT, 'systemd', 'render-unit.sh'), ...args], { encoding: 'utf8', timeout: TOOL_TIMEOUT_MS });
      assert.equal(run.status, 2, `render-unit.sh ${args.join(' ')} exited ${run.status}`);
      assert.equal(run.stdout, '');
    }
  });
});
