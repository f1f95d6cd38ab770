// systemd/install.sh into a temporary root (--root): what lands where, with which owner and mode,
// that the installed app runs, that a second run changes nothing and keeps the config, and that
// --uninstall and --purge remove what they should. Needs root (it chowns to the service user) but
// never a running systemd.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requireTool } from '../support/require-tool.js';
import { PACKAGE_ROOT, renderUnit } from './unit-file.js';

const INSTALL = join(PACKAGE_ROOT, 'systemd', 'install.sh');
const UNINSTALL = join(PACKAGE_ROOT, 'systemd', 'uninstall.sh');
const SCRIPT_TIMEOUT_MS = 5 * 60_000;
const NODE = process.execPath;
const VERSION = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version as string;
const MARKER = '# local change: must survive a reinstall';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd = PACKAGE_ROOT): Run {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: SCRIPT_TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (result.error) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function runOk(command: string, args: string[], cwd?: string): Run {
  const result = run(command, args, cwd);
  assert.equal(result.status, 0, `${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** The numeric id of NAME in ROOT/etc/passwd or ROOT/etc/group. */
function idIn(root: string, file: 'passwd' | 'group', name: string): number {
  const line = readFileSync(join(root, 'etc', file), 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  assert.ok(line, `${name} is not in ${root}/etc/${file}`);
  return Number(line.split(':')[2]);
}

function entry(root: string, file: 'passwd' | 'group', name: string): string[] | undefined {
  return readFileSync(join(root, 'etc', file), 'utf8').split('\n').find((l) => l.startsWith(`${name}:`))?.split(':');
}

function mode(path: string): string {
  return (lstatSync(path).mode & 0o7777).toString(8).padStart(4, '0');
}

interface Entry {
  path: string;
  uid: number;
  gid: number;
  mode: number;
  /** "dir", a file's sha256, or "-> target" for a symbolic link. */
  what: string;
}

/** Every path under dir with its owner, mode and content hash (or link target). */
function snapshot(dir: string): Entry[] {
  const entries: Entry[] = [];
  const walk = (path: string) => {
    const st = lstatSync(path);
    const what = st.isSymbolicLink()
      ? `-> ${readlinkSync(path)}`
      : st.isFile()
        ? createHash('sha256').update(readFileSync(path)).digest('hex')
        : st.isDirectory()
          ? 'dir'
          : 'other';
    entries.push({ path: relative(dir, path) || '.', uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, what });
    if (st.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name));
  };
  walk(dir);
  return entries;
}

/** A target root with what a Debian system has before the install: root, and dialout (gid 20). */
function makeRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-root-'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\ndialout:x:20:\n');
  return root;
}

describe('systemd/install.sh --root', () => {
  let root = '';
  let firstRun: Run;
  let buildWarning = '';
  const temps: string[] = [];

  before(() => {
    assert.equal(process.getuid?.(), 0, 'install.sh creates a system user and chowns files: run this test as root (sudo)');
    requireTool('systemd-sysusers', 'systemd');
    requireTool('systemd-analyze', 'systemd');
    requireTool('userdel', 'passwd');
    requireTool('npm', 'npm');
    // npm test does not build dist/: install exactly what the current sources compile to. tsc emits
    // despite type errors, which npm test's own `tsc --noEmit` reports; here they are only shown.
    const build = run(NODE, [join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', PACKAGE_ROOT]);
    if (build.status !== 0) {
      const errors = `${build.stdout}${build.stderr}`.split('\n').filter((line) => line.includes('error TS'));
      buildWarning = `tsc reported ${errors.length} error(s); installed what it emitted. First: ${errors[0] ?? build.stderr}`;
    }
    root = makeRoot();
    temps.push(root);
    firstRun = runOk('bash', [INSTALL, '--root', root, '--no-build', '--node', NODE]);
  });

  after(() => {
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  });

  it('creates the gatehouse system user, in dialout, without a login', (t) => {
    if (buildWarning) t.diagnostic(buildWarning);
    const user = entry(root, 'passwd', 'gatehouse');
    assert.ok(user, 'no gatehouse user');
    assert.ok(Number(user[2]) > 0 && Number(user[2]) < 1000, `uid ${user[2]} is not a system uid`);
    assert.equal(user[5], '/var/lib/gatehouse');
    assert.equal(user[6], '/usr/sbin/nologin');
    assert.deepEqual(entry(root, 'group', 'dialout'), ['dialout', 'x', '20', 'gatehouse']);
    assert.equal(readFileSync(join(root, 'usr/local/lib/sysusers.d/gatehouse.conf'), 'utf8'), readFileSync(join(PACKAGE_ROOT, 'systemd/gatehouse.sysusers'), 'utf8'));
  });

  it('installs the unit with the absolute node path in ExecStart', () => {
    const unitPath = join(root, 'etc/systemd/system/gatehouse.service');
    const unit = readFileSync(unitPath, 'utf8');
    assert.equal(unit, renderUnit(NODE, '/opt/gatehouse'));
    assert.ok(unit.includes(`\nExecStart=${NODE} /opt/gatehouse/dist/src/cli.js run --config /etc/gatehouse/gatehouse.yaml\n`));
    assert.equal(mode(unitPath), '0644');
    assert.equal(lstatSync(unitPath).uid, 0);
    const verify = run(requireTool('systemd-analyze', 'systemd'), ['verify', unitPath]);
    assert.equal(verify.status, 0, `systemd-analyze verify of the installed unit:\n${verify.stderr}`);
  });

  it('installs the example config root:gatehouse 0640 in a 0750 directory', () => {
    const gid = idIn(root, 'group', 'gatehouse');
    const dir = join(root, 'etc/gatehouse');
    const config = join(dir, 'gatehouse.yaml');
    assert.equal(readFileSync(config, 'utf8'), readFileSync(join(PACKAGE_ROOT, 'config/example-site.yaml'), 'utf8'));
    assert.equal(mode(config), '0640');
    assert.equal(mode(dir), '0750');
    for (const path of [dir, config]) {
      assert.equal(lstatSync(path).uid, 0, `${path} is not owned by root`);
      assert.equal(lstatSync(path).gid, gid, `${path} is not in group gatehouse`);
    }
    assert.match(firstRun.stdout, /installed the example config/);
  });

  it('creates the data directory 0750, owned by gatehouse', () => {
    const data = join(root, 'var/lib/gatehouse');
    assert.equal(mode(data), '0750');
    assert.equal(lstatSync(data).uid, idIn(root, 'passwd', 'gatehouse'));
    assert.equal(lstatSync(data).gid, idIn(root, 'group', 'gatehouse'));
  });

  it('installs the compiled app with production dependencies only, root-owned and not writable by others', () => {
    const app = join(root, 'opt/gatehouse');
    for (const path of ['package.json', 'dist/src/cli.js', 'dist/drivers/index.js', 'config/demo.yaml', 'node_modules/better-sqlite3', 'node_modules/unix-dgram', 'node_modules/@serialport/bindings-cpp', 'node_modules/aedes']) {
      assert.ok(existsSync(join(app, path)), `${path} is missing from the installed app`);
    }
    for (const path of ['dist/test', 'src', 'test', 'node_modules/typescript', 'node_modules/tsx', 'node_modules/.cache']) {
      assert.ok(!existsSync(join(app, path)), `${path} should not be installed`);
    }
    // A symbolic link's own mode is always 0777 and means nothing.
    const loose = snapshot(app).filter((e) => e.uid !== 0 || e.gid !== 0 || (!e.what.startsWith('->') && (e.mode & 0o022) !== 0));
    assert.deepEqual(loose.slice(0, 5), [], 'files not owned by root or writable by group/others');
    assert.ok(!existsSync(`${app}.staging`) && !existsSync(`${app}.previous`));
  });

  it('runs from the installed tree: version, and check of the installed config', () => {
    const app = join(root, 'opt/gatehouse');
    assert.equal(runOk(NODE, [join(app, 'dist/src/cli.js'), 'version'], tmpdir()).stdout, `gatehouse ${VERSION}\n`);
    const checked = runOk(NODE, [join(app, 'dist/src/cli.js'), 'check', '--config', join(root, 'etc/gatehouse/gatehouse.yaml')], tmpdir());
    assert.match(checked.stdout, /: ok\n/);
    // The native modules load with this node from the installed node_modules.
    runOk(NODE, ['-e', 'new (require("better-sqlite3"))(":memory:").close(); require("unix-dgram"); require("@serialport/bindings-cpp")'], app);
  });

  it('puts a gatehouse command on PATH that runs the app with the same node', () => {
    const wrapper = join(root, 'usr/local/bin/gatehouse');
    assert.equal(mode(wrapper), '0755');
    assert.equal(lstatSync(wrapper).uid, 0);
    const text = readFileSync(wrapper, 'utf8');
    assert.ok(text.startsWith('#!/bin/sh\n'));
    assert.ok(text.endsWith(`\nexec ${NODE} /opt/gatehouse/dist/src/cli.js "$@"\n`), text);
    runOk('sh', ['-n', wrapper]);
  });

  it('says what to do next', () => {
    for (const step of ['gatehouse check --config /etc/gatehouse/gatehouse.yaml', 'systemctl enable --now gatehouse', 'journalctl -u gatehouse', '/var/lib/gatehouse']) {
      assert.ok(firstRun.stdout.includes(step), `next steps do not mention ${step}:\n${firstRun.stdout}`);
    }
    assert.match(firstRun.stdout, /running system's systemd was left alone/);
  });

  it('changes nothing on a second run and keeps an edited config', () => {
    appendFileSync(join(root, 'etc/gatehouse/gatehouse.yaml'), `${MARKER}\n`);
    const before = snapshot(root);
    const second = runOk('bash', [INSTALL, '--root', root, '--no-build', '--node', NODE]);
    assert.match(second.stdout, /kept the existing config/);
    assert.doesNotMatch(second.stdout, /warning/);
    assert.deepEqual(snapshot(root), before);
    assert.ok(readFileSync(join(root, 'etc/gatehouse/gatehouse.yaml'), 'utf8').endsWith(`${MARKER}\n`));
  });

  it('warns about a kept config that the service cannot read, and leaves its mode alone', () => {
    const config = join(root, 'etc/gatehouse/gatehouse.yaml');
    chmodSync(config, 0o600);
    try {
      const rerun = runOk('bash', [INSTALL, '--root', root, '--no-build', '--node', NODE]);
      assert.match(rerun.stdout, /warning: the service \(group gatehouse\) cannot read it/);
      assert.equal(mode(config), '0600');
    } finally {
      chmodSync(config, 0o640);
    }
  });

  it('--uninstall removes the unit, the app, the command and enable links, and keeps config, data and user', () => {
    const wants = join(root, 'etc/systemd/system/multi-user.target.wants');
    mkdirSync(wants, { recursive: true });
    symlinkSync('/etc/systemd/system/gatehouse.service', join(wants, 'gatehouse.service'));
    const removed = runOk('bash', [INSTALL, '--uninstall', '--root', root]);
    for (const path of ['etc/systemd/system/gatehouse.service', 'opt/gatehouse', 'usr/local/bin/gatehouse']) {
      assert.ok(!existsSync(join(root, path)), `${path} is still there`);
    }
    assert.throws(() => lstatSync(join(wants, 'gatehouse.service')), { code: 'ENOENT' });
    assert.ok(readFileSync(join(root, 'etc/gatehouse/gatehouse.yaml'), 'utf8').endsWith(`${MARKER}\n`));
    assert.ok(existsSync(join(root, 'var/lib/gatehouse')));
    assert.ok(entry(root, 'passwd', 'gatehouse'));
    assert.match(removed.stdout, /kept the config/);
  });

  it('uninstall.sh --purge also removes the config, the data and the user', () => {
    runOk('bash', [UNINSTALL, '--purge', '--root', root]);
    for (const path of ['etc/gatehouse', 'var/lib/gatehouse', 'usr/local/lib/sysusers.d/gatehouse.conf']) {
      assert.ok(!existsSync(join(root, path)), `${path} is still there`);
    }
    assert.equal(entry(root, 'passwd', 'gatehouse'), undefined);
    assert.equal(entry(root, 'group', 'gatehouse'), undefined);
    assert.deepEqual(entry(root, 'group', 'dialout'), ['dialout', 'x', '20', '']);
  });

  it('refuses a gatehouse command it did not write, before installing anything', () => {
    const other = makeRoot();
    temps.push(other);
    const foreign = join(other, 'usr/local/bin/gatehouse');
    mkdirSync(join(other, 'usr/local/bin'), { recursive: true });
    writeFileSync(foreign, '#!/bin/sh\necho someone else\n');
    const refused = run('bash', [INSTALL, '--root', other, '--no-build', '--node', NODE]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /was not written by this script/);
    assert.equal(readFileSync(foreign, 'utf8'), '#!/bin/sh\necho someone else\n');
    assert.ok(!existsSync(join(other, 'opt')) && !existsSync(join(other, 'etc/gatehouse')));
  });

  it('refuses a prefix or a node the sandbox would hide, a shared prefix, a prefix on the config or data, and a relative root', () => {
    // Always under a temporary --root (the last --root given wins), so that a broken check cannot
    // install onto this machine.
    const safeRoot = makeRoot();
    temps.push(safeRoot);
    const cases = [['--prefix', '/home/gatehouse'], ['--prefix', '/tmp/gatehouse'], ['--node', '/root/.nvm/node'], ['--prefix', '/usr'], ['--root', 'relative/dir']];
    // The prefix is replaced on upgrade and deleted on uninstall: never the config or the data (or inside them).
    cases.push(['--prefix', '/etc/gatehouse'], ['--prefix', '/var/lib/gatehouse'], ['--prefix', '/var/lib/gatehouse/gatehouse'], ['--prefix', '/usr/local/bin/gatehouse']);
    mkdirSync(join(safeRoot, 'etc/gatehouse'), { recursive: true });
    writeFileSync(join(safeRoot, 'etc/gatehouse/gatehouse.yaml'), `${MARKER}\n`);
    for (const args of cases) {
      const refused = run('bash', [INSTALL, '--root', safeRoot, '--no-build', ...args], safeRoot);
      assert.equal(refused.status, 1, `install.sh ${args.join(' ')} exited ${refused.status}`);
      assert.match(refused.stderr, /hidden from the service|a folder of its own|absolute path|would replace/);
    }
    assert.equal(readFileSync(join(safeRoot, 'etc/gatehouse/gatehouse.yaml'), 'utf8'), `${MARKER}\n`, 'the config is untouched');
  });
});
