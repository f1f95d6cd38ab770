// How a payload is written into the audit journal: text as text, other bytes as hex, a long one
// clipped at the limit with its full length said, so nothing sent is lost from view.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { payloadForJournal } from '../../src/commands/journal.js';

describe('payloadForJournal', () => {
  it('keeps UTF-8 text as it is', () => {
    assert.equal(payloadForJournal(Buffer.from('{"who":"Zoë"}')), '{"who":"Zoë"}');
    assert.equal(payloadForJournal(new Uint8Array()), '');
  });

  it('keeps bytes that are not UTF-8 as hex', () => {
    assert.equal(payloadForJournal(Uint8Array.from([0xff, 0x00, 0x41])), 'hex:ff0041');
  });

  it('keeps a payload of exactly the limit whole, and clips one byte more, saying how long it was', () => {
    assert.equal(payloadForJournal(Buffer.from('abcd'), 4), 'abcd');
    assert.equal(payloadForJournal(Buffer.from('abcde'), 4), 'abcd…(5 bytes)');
    assert.equal(payloadForJournal(Buffer.from('x'.repeat(4096))), 'x'.repeat(4096), 'the default limit is 4096 bytes');
    assert.equal(payloadForJournal(Buffer.from('x'.repeat(4097))), `${'x'.repeat(4096)}…(4097 bytes)`);
  });

  it('a clip that cuts a character in two keeps the bytes as hex', () => {
    assert.equal(payloadForJournal(Buffer.from('aé'), 2), 'hex:61c3…(3 bytes)');
  });
});
