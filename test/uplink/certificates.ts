// A throwaway PKI for the mutual-TLS tests, made with openssl: a CA, a server certificate for
// localhost, and client certificates signed by that CA (or by a stranger).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from '../support/require-tool.js';

export interface TestPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate from a CA the broker does not trust. */
  strangerCert: string;
  strangerKey: string;
  dispose(): void;
}

export function makePki(): TestPki {
  const openssl = requireTool('openssl', 'openssl');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pki-'));
  const run = (args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: 'pipe' });
  const selfSigned = (name: string) => run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`]);
  const signed = (name: string, ca: string, cn: string, ext?: string) => {
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    const args = ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2'];
    if (ext) {
      writeFileSync(join(dir, `${name}.ext`), ext);
      args.push('-extfile', `${name}.ext`);
    }
    run(args);
  };
  selfSigned('ca');
  selfSigned('stranger-ca');
  signed('server', 'ca', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  signed('client', 'ca', 'gatehouse-test');
  signed('stranger', 'stranger-ca', 'gatehouse-test');
  const at = (file: string) => join(dir, file);
  return {
    dir,
    ca: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    strangerCert: at('stranger.pem'),
    strangerKey: at('stranger.key'),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
