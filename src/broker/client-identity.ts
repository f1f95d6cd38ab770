// Who a verified client certificate names: the subject CN, or one subjectAltName entry of a chosen
// type, mapped by the broker to a configured user.
import type { PeerCertificate } from 'node:tls';

export const IDENTITY_SOURCES = ['cn', 'san_dns', 'san_email', 'san_uri'] as const;
export type IdentitySource = (typeof IDENTITY_SOURCES)[number];

export interface PeerCertificateInfo {
  /**
   * The value of the configured identity field; null when the certificate has no such field or
   * more than one (a certificate naming two identities maps to neither).
   */
  identity: string | null;
  /** The subject, e.g. "CN=gate-panel-1, O=Site". */
  subject: string;
  /** SHA-256 fingerprint of the certificate, as "AB:CD:...". */
  fingerprint: string;
}

const SAN_TYPES: Record<Exclude<IdentitySource, 'cn'>, string> = { san_dns: 'DNS', san_email: 'email', san_uri: 'URI' };

export interface SubjectAltNameEntry {
  type: string;
  value: string;
}

/**
 * Splits node's `subjectaltname` text ("DNS:a, email:b@c, URI:d"). Node writes a value holding a
 * comma, quote or other special character as a JSON string (DNS:"a, b"), so an unquoted value
 * never contains ", ".
 */
export function parseSubjectAltName(text: string): SubjectAltNameEntry[] {
  const entries: SubjectAltNameEntry[] = [];
  let at = 0;
  while (at < text.length) {
    const colon = text.indexOf(':', at);
    if (colon < 0) break;
    const type = text.slice(at, colon);
    let end: number;
    let value: string;
    if (text[colon + 1] === '"') {
      let close = colon + 2;
      while (close < text.length && text[close] !== '"') close += text[close] === '\\' ? 2 : 1;
      end = close + 1;
      try {
        value = JSON.parse(text.slice(colon + 1, end)) as string;
      } catch {
        value = text.slice(colon + 2, close);
      }
    } else {
      const comma = text.indexOf(', ', colon + 1);
      end = comma < 0 ? text.length : comma;
      value = text.slice(colon + 1, end);
    }
    entries.push({ type, value });
    at = text.startsWith(', ', end) ? end + 2 : text.length;
  }
  return entries;
}

function single(values: readonly string[]): string | null {
  return values.length === 1 && values[0].length > 0 ? values[0] : null;
}

function describeSubject(subject: PeerCertificate['subject'] | undefined): string {
  if (!subject) return '';
  return Object.entries(subject)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`)
    .join(', ');
}

/** The identity, subject and fingerprint of a peer certificate (node's non-detailed form). */
export function certificateIdentity(certificate: PeerCertificate, from: IdentitySource): PeerCertificateInfo {
  let identity: string | null;
  if (from === 'cn') {
    const cn = certificate.subject?.CN as string | string[] | undefined;
    identity = single(cn === undefined ? [] : Array.isArray(cn) ? cn : [cn]);
  } else {
    const wanted = SAN_TYPES[from];
    const entries = parseSubjectAltName(certificate.subjectaltname ?? '');
    identity = single(entries.filter((e) => e.type === wanted).map((e) => e.value));
  }
  return { identity, subject: describeSubject(certificate.subject), fingerprint: certificate.fingerprint256 };
}
