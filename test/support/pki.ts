// A throwaway PKI made with openssl for the TLS tests: a site CA, a stranger CA, a server
// certificate for localhost / 127.0.0.1, and client certificates issued on demand (with a chosen
// CN and subjectAltName, by either CA, or already expired); mutualTlsPki() gives the set a mutual
// TLS test needs at once.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool } from './require-tool.js';
import { makeTempDir, removeTempDir } from './temp.js';

export interface CertPair {
  cert: string;
  key: string;
}

export interface IssueOptions {
  cn: string;
  /** subjectAltName value, e.g. "DNS:panel.example,email:a@b.example". */
  san?: string;
  /** Signed by the stranger CA instead of the site CA. */
  stranger?: boolean;
  /** Valid only on 2020-01-01: expired long ago. */
  expired?: boolean;
}

export interface Pki {
  dir: string;
  /** Site CA certificate (PEM path). */
  ca: string;
  /** A CA the broker does not trust (PEM path). */
  strangerCa: string;
  /** Server certificate for DNS:localhost and IP:127.0.0.1, signed by the site CA. */
  server: CertPair;
  /** Issues a certificate and key named `name` in `dir`. */
  issue(name: string, opts: IssueOptions): CertPair;
  dispose(): void;
}

// EC keys: generated in milliseconds, unlike RSA.
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** SHA-256 fingerprint of a PEM certificate file, as node prints it ("AB:CD:..."). */
export function fingerprintOf(certPath: string): string {
  return new X509Certificate(readFileSync(certPath)).fingerprint256;
}

export function makePki(): Pki {
  const openssl = requireTool('openssl', 'openssl');
  const dir = makeTempDir('pki');
  const run = (args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: 'pipe' });
  const at = (file: string) => join(dir, file);
  for (const ca of ['ca', 'stranger-ca']) {
    run(['req', '-x509', ...NEW_KEY, '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=${ca}`]);
  }
  // `openssl x509 -req` cannot backdate a certificate on OpenSSL 3.0; `openssl ca` takes
  // -startdate/-enddate, so expired certificates come from this minimal CA setup.
  mkdirSync(at('issued'));
  writeFileSync(at('index.txt'), '');
  writeFileSync(at('serial'), '1000\n');
  writeFileSync(
    at('ca.cnf'),
    [
      '[ca]',
      'default_ca = site',
      '[site]',
      `database = ${at('index.txt')}`,
      `new_certs_dir = ${at('issued')}`,
      `serial = ${at('serial')}`,
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      'copy_extensions = copy',
      '[any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );

  const issue = (name: string, opts: IssueOptions): CertPair => {
    const signer = opts.stranger ? 'stranger-ca' : 'ca';
    const subject = `/CN=${opts.cn}`;
    const request = ['req', ...NEW_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject];
    if (opts.san) request.push('-addext', `subjectAltName=${opts.san}`);
    run(request);
    if (opts.expired) {
      run(['ca', '-batch', '-config', 'ca.cnf', '-cert', `${signer}.pem`, '-keyfile', `${signer}.key`, '-in', `${name}.csr`, '-out', `${name}.pem`, '-notext', '-startdate', '20200101000000Z', '-enddate', '20200102000000Z']);
    } else {
      const args = ['x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.pem`, '-CAkey', `${signer}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2'];
      if (opts.san) {
        writeFileSync(at(`${name}.ext`), `subjectAltName=${opts.san}\n`);
        args.push('-extfile', `${name}.ext`);
      }
      run(args);
    }
    return { cert: at(`${name}.pem`), key: at(`${name}.key`) };
  };

  const server = issue('server', { cn: 'localhost', san: 'DNS:localhost,IP:127.0.0.1' });
  return {
    dir,
    ca: at('ca.pem'),
    strangerCa: at('stranger-ca.pem'),
    server,
    issue,
    dispose: () => removeTempDir(dir),
  };
}

export interface MutualTlsPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  /** A client certificate signed by the site CA. */
  clientCert: string;
  clientKey: string;
  /** A client certificate from a CA the server does not trust. */
  strangerCert: string;
  strangerKey: string;
  dispose(): void;
}

/** The site PKI with a client certificate from the site CA and one from the stranger CA (CN gatehouse-test). */
export function mutualTlsPki(): MutualTlsPki {
  const pki = makePki();
  const client = pki.issue('client', { cn: 'gatehouse-test' });
  const stranger = pki.issue('stranger', { cn: 'gatehouse-test', stranger: true });
  return {
    dir: pki.dir,
    ca: pki.ca,
    serverCert: pki.server.cert,
    serverKey: pki.server.key,
    clientCert: client.cert,
    clientKey: client.key,
    strangerCert: stranger.cert,
    strangerKey: stranger.key,
    dispose: () => pki.dispose(),
  };
}
