// Review of issue 5: certificate reload was covered only by calling Broker.reloadCertificates();
// this checks the whole path an operator uses: renewed files at the same paths, SIGHUP to
// `gatehouse run`, the TLS listener serving the new certificate to new connections, and a broken
// file leaving the previous certificate in service.
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { servedFingerprint } from '../broker/listener-support.js';
import { isLog, siteFiles, spawnService } from '../support/gateway-process.js';
import { UNITS } from '../support/site.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { fingerprintOf, makePki } from '../support/pki.js';

let device: ModbusDevice;
before(async () => {
  device = await startModbusDevice({ units: UNITS });
});
after(() => device?.stop());

test('SIGHUP reloads renewed TLS certificate files; a broken one keeps the previous certificate in service', async (t) => {
  const pki = makePki();
  t.after(() => pki.dispose());
  const files = { cert: join(pki.dir, 'live-server.pem'), key: join(pki.dir, 'live-server.key') };
  copyFileSync(pki.server.cert, files.cert);
  copyFileSync(pki.server.key, files.key);
  const renewed = pki.issue('server-renewed', { cn: 'localhost', san: 'DNS:localhost,IP:127.0.0.1' });

  const site = await siteFiles(t, device.port);
  const broker = site.document.broker as Record<string, unknown>;
  site.write({ ...site.document, broker: { ...broker, tls: { enabled: true, host: '127.0.0.1', port: 0, cert: files.cert, key: files.key } } });
  const gateway = spawnService(t, site.file);
  const listening = await gateway.waitForLog('the TLS listener', (l) => l.msg === 'broker listening' && l.protocol === 'mqtt+tls');
  const tlsPort = Number(listening.port);
  await gateway.waitForLog('online', isLog('gatehouse online'));
  assert.equal(await servedFingerprint(tlsPort, pki.ca), fingerprintOf(pki.server.cert));

  copyFileSync(renewed.cert, files.cert);
  copyFileSync(renewed.key, files.key);
  gateway.signal('SIGHUP');
  const reloaded = await gateway.waitForLog('the certificate reload', isLog('tls certificates reloaded'));
  assert.equal(reloaded.certificate, fingerprintOf(renewed.cert));
  assert.equal(await servedFingerprint(tlsPort, pki.ca), fingerprintOf(renewed.cert));

  writeFileSync(files.cert, 'not a certificate\n');
  gateway.signal('SIGHUP');
  const refused = await gateway.waitForLog('the refused reload', isLog('tls certificates not reloaded; the previous ones stay in use'));
  assert.match(JSON.stringify(refused.err), /BROKER_TLS_FILE_INVALID/);
  assert.equal(await servedFingerprint(tlsPort, pki.ca), fingerprintOf(renewed.cert));
  assert.equal(gateway.running, true);

  gateway.signal('SIGTERM');
  assert.equal((await gateway.exit()).code, 0);
});
