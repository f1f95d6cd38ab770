// MQTT 3.1.1 topic rules (section 4.7) as src/mqtt-topic.ts applies them: the exact error texts a
// config error or a refused publish carries, and matching at the edges (test/broker/acl.test.ts
// runs the broader tables through the ACL).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filterCovers, topicMatches, validateTopicFilter, validateTopicName } from '../src/mqtt-topic.js';

describe('MQTT topic rules', () => {
  it('names what is wrong with a topic filter', () => {
    assert.equal(validateTopicFilter(42 as unknown as string), 'topic filter must be a string');
    assert.equal(validateTopicFilter(''), 'topic filter must not be empty');
    assert.equal(validateTopicFilter('a\u0000b'), 'topic filter must not contain U+0000');
    assert.equal(validateTopicFilter('x'.repeat(65536)), 'topic filter is longer than 65535 bytes');
    assert.equal(validateTopicFilter('é'.repeat(32768)), 'topic filter is longer than 65535 bytes', 'bytes, not characters');
    assert.equal(validateTopicFilter('x'.repeat(65535)), null, 'exactly 65535 bytes is allowed');
    assert.equal(validateTopicFilter('a/#/b'), "'#' must be the whole last level of a topic filter");
    assert.equal(validateTopicFilter('a/b#'), "'#' must be the whole last level of a topic filter");
    assert.equal(validateTopicFilter('a/b+'), "'+' must occupy a whole level of a topic filter");
    for (const ok of ['a', '#', '+', 'a/+/b', 'a/#', '+/+', '/', '$SYS/#']) assert.equal(validateTopicFilter(ok), null, ok);
  });

  it('names what is wrong with a topic name', () => {
    assert.equal(validateTopicName(7 as unknown as string), 'topic name must be a string');
    assert.equal(validateTopicName(''), 'topic name must not be empty');
    assert.equal(validateTopicName('a\u0000'), 'topic name must not contain U+0000');
    assert.equal(validateTopicName('y'.repeat(65536)), 'topic name is longer than 65535 bytes');
    assert.equal(validateTopicName('a/+'), 'topic name must not contain wildcards');
    assert.equal(validateTopicName('a/#'), 'topic name must not contain wildcards');
    assert.equal(validateTopicName('a/b'), null);
  });

  it('never matches an invalid filter or topic name', () => {
    assert.equal(topicMatches('a/+', 'a/+'), false, 'a wildcard in the name');
    assert.equal(topicMatches('#', 'a/#'), false);
    assert.equal(topicMatches('a/#/b', 'a/x/b'), false);
    assert.equal(topicMatches('a/b', 'a/b'), true);
  });

  it('a filter covers a request only when every topic the request matches is matched by the filter', () => {
    assert.equal(filterCovers('a/b', 'a'), false, 'a shorter request');
    assert.equal(filterCovers('a/+', 'a'), false);
    assert.equal(filterCovers('a/#', 'a'), true);
    assert.equal(filterCovers('#', 'a/#/b'), false, 'an invalid request is never covered');
    assert.equal(filterCovers('a/#/b', 'a/x/b'), false, 'an invalid ACL filter covers nothing');
    assert.equal(filterCovers('a/+', 'a/+'), true);
    assert.equal(filterCovers('a/+', 'a/#'), false);
  });
});
