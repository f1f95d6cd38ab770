// Certificate identities: node's subjectAltName text split correctly (quoted values included), and
// exactly one value of the configured field required.
import assert from 'node:assert/strict';
import type { PeerCertificate } from 'node:tls';
import { test } from 'node:test';
import { certificateIdentity, parseSubjectAltName } from '../../src/broker/client-identity.js';

function peerCertificate(subject: Record<string, string | string[]>, subjectaltname?: string): PeerCertificate {
  return { subject, subjectaltname, fingerprint256: 'AA:BB' } as unknown as PeerCertificate;
}

test('parseSubjectAltName splits node\'s text, JSON-quoted values included', () => {
  assert.deepEqual(parseSubjectAltName('DNS:a.example, DNS:b.example, email:x@y.example, URI:urn:gatehouse:p1, IP Address:127.0.0.1'), [
    { type: 'DNS', value: 'a.example' },
    { type: 'DNS', value: 'b.example' },
    { type: 'email', value: 'x@y.example' },
    { type: 'URI', value: 'urn:gatehouse:p1' },
    { type: 'IP Address', value: '127.0.0.1' },
  ]);
  // Node quotes a value holding a comma so that it cannot pass for two entries.
  assert.deepEqual(parseSubjectAltName('DNS:"evil.example, DNS:admin", email:a@b'), [
    { type: 'DNS', value: 'evil.example, DNS:admin' },
    { type: 'email', value: 'a@b' },
  ]);
  assert.deepEqual(parseSubjectAltName(''), []);
});

test('certificateIdentity takes the CN or one subjectAltName entry; none or several name nobody', () => {
  const cert = peerCertificate({ CN: 'operator', O: 'Site' }, 'DNS:panel.example, email:p@example, URI:urn:p, DNS:"x, y"');
  assert.deepEqual(certificateIdentity(cert, 'cn'), { identity: 'operator', subject: 'CN=operator, O=Site', fingerprint: 'AA:BB' });
  assert.equal(certificateIdentity(cert, 'san_email').identity, 'p@example');
  assert.equal(certificateIdentity(cert, 'san_uri').identity, 'urn:p');
  assert.equal(certificateIdentity(cert, 'san_dns').identity, null, 'two DNS entries: ambiguous');
  assert.equal(certificateIdentity(peerCertificate({ CN: ['a', 'b'] }), 'cn').identity, null, 'two CNs: ambiguous');
  assert.equal(certificateIdentity(peerCertificate({ O: 'Site' }), 'cn').identity, null);
  assert.equal(certificateIdentity(peerCertificate({ CN: 'a' }), 'san_dns').identity, null);
});
