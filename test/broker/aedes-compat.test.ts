import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Aedes } from 'aedes';
import { EXPECTED_VERSIONS, aedesCompat, installedVersions, versionMismatch } from '../../src/broker/aedes-compat.js';
import { isBrokerError } from '../../src/broker/errors.js';
import { PublishSequencer } from '../../src/broker/guards/publish-order.js';

test('the installed aedes, mqemitter and aedes-persistence are the versions the guards were written for', () => {
  assert.deepEqual(installedVersions(), { aedes: '1.2.0', mqemitter: '7.1.0', 'aedes-persistence': '11.0.0' });
  assert.deepEqual(installedVersions(), EXPECTED_VERSIONS);
  assert.equal(versionMismatch(installedVersions()), null);
  assert.doesNotThrow(() => aedesCompat());
});

test('another installed version refuses to start, naming installed and expected versions', () => {
  const found = { aedes: '1.3.0', mqemitter: '7.1.0', 'aedes-persistence': '11.0.0' };
  assert.throws(
    () => aedesCompat(found),
    (err: unknown) =>
      isBrokerError(err, 'BROKER_AEDES_INCOMPATIBLE') &&
      err.message.includes('written for aedes 1.2.0, mqemitter 7.1.0, aedes-persistence 11.0.0') &&
      err.message.includes('but aedes 1.3.0 (expected 1.2.0) is installed; refusing to start') &&
      !err.message.includes('mqemitter 7.1.0 (expected'),
  );
});

test('every package that differs or is missing is named', () => {
  const message = versionMismatch({ aedes: '1.2.0', mqemitter: '8.0.0', 'aedes-persistence': null });
  assert.match(message ?? '', /but mqemitter 8\.0\.0 \(expected 7\.1\.0\), aedes-persistence \(not found\) \(expected 11\.0\.0\) are installed/);
});

test('once the check passed, every guard installs on a real aedes and the reads find their fields', async () => {
  const compat = aedesCompat();
  const aedes = new Aedes();
  assert.doesNotThrow(() => compat.guardEmitter(aedes, new PublishSequencer()));
  await aedes.listen();
  assert.doesNotThrow(() => compat.guardPersistence(aedes));
  assert.deepEqual(compat.clients(aedes), []);
  assert.equal(compat.hasClient(aedes, 'nobody'), false);
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
});
