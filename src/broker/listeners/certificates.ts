// The server certificate, its key and the client CA, read from PEM files and checked before use so
// that a bad file is reported by name (at start, and on reload while the old files stay in use).
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { IdentitySource } from '../client-identity.js';
import { BrokerError } from '../errors.js';

export const CLIENT_CERTIFICATE_POLICIES = ['off', 'optional', 'required'] as const;
export type ClientCertificatePolicy = (typeof CLIENT_CERTIFICATE_POLICIES)[number];

export interface TlsSettings {
  /** PEM server certificate (its chain may follow it in the same file). */
  cert: string;
  /** PEM private key of the server certificate. */
  key: string;
  /** PEM CA certificate(s) that client certificates must chain to; needed unless clientCertificates is off. */
  ca?: string;
  clientCertificates: ClientCertificatePolicy;
  identityFrom: IdentitySource;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  /** Of the server certificate (the first in the cert file). */
  fingerprint: string;
  subject: string;
  validTo: Date;
}

const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----';

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new BrokerError('BROKER_TLS_FILE_UNREADABLE', `cannot read the TLS ${what} file ${path}: ${reason}`, { cause: err });
  }
}

function invalid(path: string, what: string, reason: string, cause?: unknown): BrokerError {
  return new BrokerError('BROKER_TLS_FILE_INVALID', `the TLS ${what} file ${path} ${reason}`, { cause });
}

function parseCertificate(pem: Buffer, path: string, what: string): X509Certificate {
  if (!pem.includes(PEM_CERTIFICATE)) throw invalid(path, what, 'holds no PEM certificate');
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw invalid(path, what, `is not a valid PEM certificate: ${(err as Error).message}`, err);
  }
}

function parseKey(pem: Buffer, path: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    // An encrypted key lands here too: the broker has no passphrase to give.
    throw invalid(path, 'key', `is not an unencrypted PEM private key: ${(err as Error).message}`, err);
  }
}

/** Reads and checks the files of `settings`; throws a BrokerError naming the offending file. */
export function readTlsMaterial(settings: TlsSettings): TlsMaterial {
  if (!settings.cert || !settings.key) {
    throw new BrokerError('BROKER_TLS_NOT_CONFIGURED', 'TLS needs a certificate file and a key file');
  }
  if (settings.clientCertificates !== 'off' && !settings.ca) {
    throw new BrokerError('BROKER_TLS_NOT_CONFIGURED', `client certificates "${settings.clientCertificates}" need a CA file to verify them against`);
  }
  const cert = readFile(settings.cert, 'certificate');
  const key = readFile(settings.key, 'key');
  const ca = settings.ca ? readFile(settings.ca, 'CA') : undefined;
  const server = parseCertificate(cert, settings.cert, 'certificate');
  const privateKey = parseKey(key, settings.key);
  if (!server.checkPrivateKey(privateKey)) {
    throw invalid(settings.key, 'key', `does not belong to the certificate in ${settings.cert}`);
  }
  if (ca && settings.ca) parseCertificate(ca, settings.ca, 'CA');
  try {
    createSecureContext(secureContextOptions({ cert, key, ca }));
  } catch (err) {
    const files = [settings.cert, settings.key, ...(settings.ca ? [settings.ca] : [])].join(', ');
    throw new BrokerError('BROKER_TLS_FILE_INVALID', `the TLS files ${files} cannot be used: ${(err as Error).message}`, { cause: err });
  }
  return { cert, key, ca, fingerprint: server.fingerprint256, subject: server.subject.replace(/\n/g, ', '), validTo: new Date(server.validTo) };
}

/** What tls.Server#setSecureContext and tls.createServer take from the material. */
export function secureContextOptions(material: Pick<TlsMaterial, 'cert' | 'key' | 'ca'>): SecureContextOptions {
  return { cert: material.cert, key: material.key, ...(material.ca ? { ca: material.ca } : {}) };
}
