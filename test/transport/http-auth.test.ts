// HTTP authentication as the ONVIF transport answers a camera's 401: challenge parsing (RFC 7235),
// Digest (RFC 7616, checked against its section 3.9.1 example) and Basic (RFC 7617).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorization, parseChallenges, pickChallenge } from '../../src/transport/onvif/http-auth.js';

// RFC 7616 section 3.9.1.
const EXAMPLE =
  'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", ' +
  'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
const MUFASA = { user: 'Mufasa', password: 'Circle of Life' };
const CNONCE = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';

function param(header: string, name: string): string | undefined {
  return new RegExp(`(?:^|[ ,])${name}="?([^",]*)"?`).exec(header.replace(/^Digest /, ' '))?.[1];
}

describe('HTTP authentication (client side)', () => {
  it('parses several challenges in one header, quoted commas and = in values included', () => {
    const challenges = parseChallenges([EXAMPLE, 'Basic realm="cam, front", charset="UTF-8"']);
    assert.deepEqual(challenges.map((c) => [c.scheme, c.params.algorithm ?? '', c.params.realm]), [
      ['digest', 'SHA-256', 'http-auth@example.org'],
      ['digest', 'MD5', 'http-auth@example.org'],
      ['basic', '', 'cam, front'],
    ]);
    assert.equal(challenges[0].params.qop, 'auth, auth-int');
    assert.equal(parseChallenges(['Digest nonce="YWJj+/==", realm="r"'])[0].params.nonce, 'YWJj+/==');
  });

  it('prefers the strongest usable Digest, then Basic; refuses auth-int only', () => {
    assert.equal(pickChallenge(parseChallenges([EXAMPLE]))?.params.algorithm, 'SHA-256');
    assert.equal(pickChallenge(parseChallenges(['Basic realm="x", Digest realm="x", nonce="n", qop="auth"']))?.scheme, 'digest');
    assert.equal(pickChallenge(parseChallenges(['Digest realm="x", nonce="n", qop="auth-int", Basic realm="x"']))?.scheme, 'basic');
    assert.equal(pickChallenge(parseChallenges(['Digest realm="x", nonce="n", algorithm=SHA-1'])), null);
    assert.equal(pickChallenge(parseChallenges(['Bearer realm="x"'])), null);
  });

  it('computes the RFC 7616 section 3.9.1 responses (SHA-256 and MD5)', () => {
    const [sha256, md5] = parseChallenges([EXAMPLE]);
    const a = authorization(sha256, MUFASA, 'GET', '/dir/index.html', CNONCE);
    assert.equal(param(a, 'response'), '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
    assert.equal(param(a, 'qop'), 'auth');
    assert.equal(param(a, 'nc'), '00000001');
    assert.equal(param(a, 'opaque'), 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS');
    const b = authorization(md5, MUFASA, 'GET', '/dir/index.html', CNONCE);
    assert.equal(param(b, 'response'), '8ca523f5e9506fed4657c9700eebdbec');
  });

  it('answers an RFC 2069 challenge (no qop) and quotes user names', () => {
    const [legacy] = parseChallenges(['Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"']);
    const header = authorization(legacy, { user: 'a"b', password: 'p' }, 'GET', '/x');
    assert.match(header, /username="a\\"b"/);
    assert.equal(param(header, 'qop'), undefined);
  });

  it('builds Basic credentials (RFC 7617 section 2)', () => {
    const [basic] = parseChallenges(['Basic realm="WallyWorld"']);
    assert.equal(authorization(basic, { user: 'Aladdin', password: 'open sesame' }, 'GET', '/'), 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
  });
});
