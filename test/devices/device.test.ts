// Availability and polling rules of a device, against a scripted driver. The same rules run
// against a real pymodbus device in test/gateway/.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { DeviceError, type DriverInstance, type Readings } from '../../src/driver-api.js';
import { Device, type DeviceSink } from '../../src/devices/device.js';
import { gateKind } from '../../src/devices/kinds/gate.js';
import { sleep, until } from '../support/wait.js';

class ScriptedDriver implements DriverInstance {
  readonly outputs = ['unlock'];
  readonly inputs = ['door'];
  reachable = true;
  /** Reads that fail before the driver answers again (on top of `reachable`). */
  failNextReads = 0;
  failedReads = 0;
  door = false;
  readonly log: string[] = [];
  async read(): Promise<Readings> {
    if (!this.reachable || this.failNextReads > 0) {
      if (this.failNextReads > 0) this.failNextReads--;
      this.failedReads++;
      throw new DeviceError('timeout', 'no answer');
    }
    this.log.push('read');
    return { door: this.door };
  }
  async write(output: string, on: boolean): Promise<void> {
    if (!this.reachable) throw new DeviceError('offline', 'link down');
    this.log.push(`write ${output}=${on}`);
  }
}

function setup(t: TestContext, driver: ScriptedDriver, offlineAfter = 2) {
  const news: string[] = [];
  /** How many reads had failed when each availability change was announced. */
  const failedReadsAt: string[] = [];
  const sink: DeviceSink = {
    state: (_d, s) => void news.push(`state door=${s.door} lock=${s.lock}`),
    event: (_d, type) => void news.push(`event ${type}`),
    availability: (_d, a) => {
      news.push(a);
      failedReadsAt.push(`${a} after ${driver.failedReads} failed reads`);
    },
  };
  const settings = { on_start: 'lock', unlock_ms: 5000, max_unlock_ms: 60_000, held_open_ms: 30_000, relock_grace_ms: 0 };
  const device = new Device(
    { id: 'g1', name: 'g1', poll_ms: 20, offline_after: offlineAfter, command_timeout_ms: 1000, settings },
    gateKind,
    driver,
    sink,
    { debug() {}, info() {}, warn() {}, error() {} },
  );
  t.after(() => device.stop());
  return { device, news, failedReadsAt };
}

describe('device availability', () => {
  it('applies the safe state, reads, then announces state before online', async (t) => {
    const driver = new ScriptedDriver();
    const { device, news } = setup(t, driver);
    await device.start();
    assert.deepEqual(driver.log.slice(0, 2), ['write unlock=false', 'read']);
    assert.deepEqual(news, ['state door=closed lock=locked', 'online']);
    await device.stop();
  });

  it('stays offline while the safe state cannot be applied, and commands fail fast', async (t) => {
    const driver = new ScriptedDriver();
    driver.reachable = false;
    const { device, news } = setup(t, driver);
    await device.start();
    assert.equal(device.availability, 'offline');
    await assert.rejects(device.execute('unlock', { duration_ms: 1000 }, new AbortController().signal), (e: DeviceError) => e.code === 'offline');
    driver.reachable = true;
    await until('online', () => device.availability === 'online');
    assert.equal(driver.log[0], 'write unlock=false', 'safe state first, once reachable');
    assert.deepEqual(news, ['state door=closed lock=locked', 'online']);
    await device.stop();
  });

  it('stays online through offline_after - 1 failures in a row', async (t) => {
    const driver = new ScriptedDriver();
    const { device, news, failedReadsAt } = setup(t, driver, 3);
    await device.start();
    for (let round = 1; round <= 2; round++) {
      // Two failures, then an answer (which resets the count): never three in a row.
      driver.failNextReads = 2;
      const readsBefore = driver.log.length;
      await until('an answer after two failed reads', () => driver.failNextReads === 0 && driver.log.length > readsBefore);
      assert.equal(device.availability, 'online', `round ${round}`);
    }
    assert.equal(driver.failedReads, 4);
    assert.deepEqual(news, ['state door=closed lock=locked', 'online']);
    assert.deepEqual(failedReadsAt, ['online after 0 failed reads']);
  });

  it('goes offline after offline_after failures in a row and back online with a fresh state', async (t) => {
    const driver = new ScriptedDriver();
    const { device, news, failedReadsAt } = setup(t, driver, 3);
    await device.start();
    driver.reachable = false;
    await until('offline', () => device.availability === 'offline');
    assert.deepEqual(failedReadsAt, ['online after 0 failed reads', 'offline after 3 failed reads']);
    driver.door = true;
    driver.reachable = true;
    await until('online', () => device.availability === 'online');
    assert.deepEqual(news, ['state door=closed lock=locked', 'online', 'offline', 'event door_forced', 'state door=open lock=locked', 'online']);
    await device.stop();
  });

  it('stop ends polling', async (t) => {
    const driver = new ScriptedDriver();
    const { device } = setup(t, driver);
    await device.start();
    await device.stop();
    const reads = driver.log.length;
    await sleep(80);
    assert.equal(driver.log.length, reads);
  });
});
