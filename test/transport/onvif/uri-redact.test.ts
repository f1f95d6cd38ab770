// Credentials kept out of the URIs a camera reports, whatever the camera calls its parameters.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { withoutCredentials } from '../../../src/transport/onvif/uri-redact.js';

it('withoutCredentials drops query values equal to a given secret, whatever the parameter is called', () => {
  assert.equal(withoutCredentials('http://cam/snap.cgi?chn=1&loginuse=admin&loginpas=S3cret!', ['admin', 'S3cret!']), 'http://cam/snap.cgi?chn=1');
  assert.equal(withoutCredentials('http://cam/snap.cgi?a=1&b=2', ['']), 'http://cam/snap.cgi?a=1&b=2', 'an empty secret matches nothing');
  assert.equal(withoutCredentials('not a url?loginpas=S3cret!', ['S3cret!']), 'not a url?loginpas=***', 'nor in what is not a URL');
});
