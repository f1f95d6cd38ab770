import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decidePublished } from '../../../src/broker/hooks/published.js';

test("a client's PUBLISH is counted as received and handed to onPublished", () => {
  assert.deepEqual(decidePublished('chat/x', true), { count: 'received', notify: true });
});

test("the gateway's own PUBLISH is counted as published, aedes' $SYS heartbeat not at all", () => {
  assert.deepEqual(decidePublished('site/hq/gate/g1/state', false), { count: 'published', notify: false });
  assert.deepEqual(decidePublished('$SYS/abc/heartbeat', false), { count: null, notify: false });
});
