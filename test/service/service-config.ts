// Config files for the service tests: the end-to-end harness's site (two gates and a turnstile on
// one pymodbus device) written as JSON with info logging and a broker port chosen up front, so a
// test can connect the moment READY=1 arrives.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { configDocument, type HarnessOptions } from '../gateway/harness.js';
import { freePort } from '../support/ports.js';

export interface ServiceSite {
  dir: string;
  file: string;
  dataDir: string;
  brokerPort: number;
  /** The document last written. */
  document: Record<string, unknown>;
  /** Writes `document` to `file` (for a reload). */
  write(document: Record<string, unknown>): void;
}

/** A temporary directory holding the config file and the data dir, removed after the test. */
export async function serviceSite(t: TestContext, modbusPort: number, opts: HarnessOptions & { extra?: Record<string, unknown> } = {}): Promise<ServiceSite> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-service-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  const brokerPort = await freePort();
  const document = await configDocument(modbusPort, dataDir, opts);
  document.log = { level: 'info' };
  document.broker = { ...(document.broker as Record<string, unknown>), port: brokerPort };
  Object.assign(document, opts.extra);
  const site: ServiceSite = {
    dir,
    file: join(dir, 'gatehouse.json'),
    dataDir,
    brokerPort,
    document,
    write(next) {
      site.document = next;
      writeFileSync(site.file, JSON.stringify(next, null, 2));
    },
  };
  site.write(document);
  return site;
}
