// The one conformance suite every Outbox implementation runs (memory and SQLite).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MessageClass, Outbox, OutboxLimits, OutboxMessage, QueuedMessage } from '../../src/uplink/outbox.js';

const ROOMY: OutboxLimits = { maxMessages: 1000, maxBytes: 1_000_000 };

let clock = 1_000;
export function msg(topic: string, payload: string, cls: MessageClass = 'telemetry', createdAt = ++clock): OutboxMessage {
  return { topic, payload: Buffer.from(payload), class: cls, createdAt };
}

const texts = (rows: QueuedMessage[]) => rows.map((r) => `${r.topic}=${r.payload.toString()}`);

export function outboxConformance(name: string, create: (limits: OutboxLimits) => Outbox): void {
  describe(`Outbox conformance: ${name}`, () => {
    it('takes rows in append order with topic, payload, class and time intact', () => {
      const outbox = create(ROOMY);
      const a = msg('t/a', 'one', 'telemetry', 5000);
      const b = msg('t/b', 'two', 'result', 5001);
      const c = msg('t/c', '', 'security', 5002);
      assert.equal(outbox.append([a, b, c]).appended, 3);
      const rows = outbox.take(10);
      assert.deepEqual(
        rows.map(({ topic, payload, class: cls, createdAt }) => ({ topic, payload: payload.toString(), cls, createdAt })),
        [
          { topic: 't/a', payload: 'one', cls: 'telemetry', createdAt: 5000 },
          { topic: 't/b', payload: 'two', cls: 'result', createdAt: 5001 },
          { topic: 't/c', payload: '', cls: 'security', createdAt: 5002 },
        ],
      );
      assert.ok(rows[0].seq < rows[1].seq && rows[1].seq < rows[2].seq, 'seq grows in append order');
    });

    it('keeps binary payloads byte for byte', () => {
      const outbox = create(ROOMY);
      const bytes = Buffer.from([0, 255, 1, 128, 0]);
      outbox.append([{ topic: 'img', payload: bytes, class: 'telemetry', createdAt: 1 }]);
      assert.deepEqual(outbox.take(1)[0].payload, bytes);
    });

    it('sends pending retained values before the backlog', () => {
      const outbox = create(ROOMY);
      outbox.append([msg('ev', '1'), msg('st/x', 'a', 'retained'), msg('ev', '2'), msg('st/y', 'b', 'retained'), msg('res', 'r', 'result')]);
      assert.deepEqual(texts(outbox.take(10)), ['st/x=a', 'st/y=b', 'ev=1', 'ev=2', 'res=r']);
    });

    it('a new retained value supersedes the pending older one of its topic', () => {
      const outbox = create(ROOMY);
      outbox.append([msg('st/x', 'v1', 'retained'), msg('st/y', 'y1', 'retained')]);
      const outcome = outbox.append([msg('st/x', 'v2', 'retained'), msg('st/x', 'v3', 'retained')]);
      assert.equal(outcome.superseded, 2);
      assert.equal(outbox.stats().depth, 2);
      assert.deepEqual(texts(outbox.take(10)), ['st/y=y1', 'st/x=v3']);
    });

    it('never supersedes an in-flight retained value; release deletes it once a newer one is pending', () => {
      const outbox = create(ROOMY);
      outbox.append([msg('st/x', 'v1', 'retained')]);
      const [inFlight] = outbox.take(1);
      outbox.append([msg('st/x', 'v2', 'retained')]);
      assert.equal(outbox.stats().depth, 2, 'v1 stays while in flight');
      outbox.release();
      assert.deepEqual(texts(outbox.take(10)), ['st/x=v2'], 'v1 was superseded on release');
      outbox.release();
      outbox.take(10);
      outbox.append([msg('st/x', 'v3', 'retained')]);
      assert.deepEqual(texts(outbox.take(10)), ['st/x=v3']);
      outbox.release();
      assert.deepEqual(texts(outbox.take(10)), ['st/x=v3'], 'both in flight: only the newest stays');
      assert.equal(outbox.ack([inFlight.seq]), 0, 'v1 is gone');
      assert.equal(outbox.stats().depth, 1);
      assert.equal(outbox.stats().byClass.retained, 1);
    });

    it('an in-flight retained value with nothing newer is pending again after release', () => {
      const outbox = create(ROOMY);
      outbox.append([msg('st/x', 'v1', 'retained'), msg('ev', 'e')]);
      assert.equal(outbox.take(10).length, 2);
      outbox.release();
      assert.deepEqual(texts(outbox.take(10)), ['st/x=v1', 'ev=e']);
      outbox.release();
      outbox.append([msg('st/x', 'v2', 'retained')]);
      assert.deepEqual(texts(outbox.take(10)), ['st/x=v2', 'ev=e'], 'the released v1 is superseded like any pending value');
    });

    it('take skips in-flight rows', () => {
      const outbox = create(ROOMY);
      outbox.append(['1', '2', '3', '4', '5'].map((p) => msg('ev', p)));
      assert.deepEqual(texts(outbox.take(2)), ['ev=1', 'ev=2']);
      assert.deepEqual(texts(outbox.take(2)), ['ev=3', 'ev=4']);
      outbox.append([msg('ev', '6')]);
      assert.deepEqual(texts(outbox.take(10)), ['ev=5', 'ev=6']);
      assert.deepEqual(outbox.take(10), []);
      assert.equal(outbox.stats().inFlight, 6);
    });

    it('ack deletes exactly the acknowledged rows, in any order', () => {
      const outbox = create(ROOMY);
      outbox.append(['1', '2', '3'].map((p) => msg('ev', p)));
      const rows = outbox.take(3);
      assert.equal(outbox.ack([rows[2].seq, rows[0].seq]), 2);
      assert.equal(outbox.ack([rows[0].seq, 999_999]), 0, 'already gone or unknown: ignored');
      assert.equal(outbox.stats().depth, 1);
      assert.equal(outbox.stats().inFlight, 1);
      outbox.release();
      assert.deepEqual(texts(outbox.take(10)), ['ev=2']);
    });

    it('release makes every in-flight row pending again, in the original order', () => {
      const outbox = create(ROOMY);
      outbox.append(['1', '2', '3', '4'].map((p) => msg('ev', p)));
      const first = outbox.take(3);
      outbox.ack([first[1].seq]);
      outbox.release();
      assert.equal(outbox.stats().inFlight, 0);
      assert.deepEqual(texts(outbox.take(10)), ['ev=1', 'ev=3', 'ev=4']);
    });

    it('supersedeRetained deletes only pending retained rows of the given topics', () => {
      const outbox = create(ROOMY);
      outbox.append([msg('st/x', 'x1', 'retained'), msg('st/y', 'y1', 'retained')]);
      outbox.take(1); // st/x in flight
      outbox.append([msg('st/x', 'x2', 'retained'), msg('ev', 'e')]);
      assert.equal(outbox.supersedeRetained(['st/x', 'st/y', 'ev', 'st/none']), 2);
      assert.deepEqual(texts(outbox.take(10)), ['ev=e']);
      assert.equal(outbox.stats().depth, 2, 'in-flight x1 and ev remain');
    });

    it('reports depth, bytes, per-class counts, oldest time and in-flight count', () => {
      const outbox = create(ROOMY);
      assert.deepEqual(outbox.stats(), {
        depth: 0,
        bytes: 0,
        inFlight: 0,
        byClass: { retained: 0, result: 0, security: 0, telemetry: 0 },
        dropped: { retained: 0, result: 0, security: 0, telemetry: 0 },
      });
      outbox.append([msg('ab', '123', 'telemetry', 7000), msg('s', 'x', 'retained', 7001), msg('r', '12', 'result', 7002), msg('f', '', 'security', 7003)]);
      outbox.take(1);
      assert.deepEqual(outbox.stats(), {
        depth: 4,
        bytes: 5 + 2 + 3 + 1,
        oldestAt: 7000,
        inFlight: 1,
        byClass: { retained: 1, result: 1, security: 1, telemetry: 1 },
        dropped: { retained: 0, result: 0, security: 0, telemetry: 0 },
      });
    });

    it('at the message limit drops the oldest telemetry first, never results or security events', () => {
      const outbox = create({ maxMessages: 4, maxBytes: 1_000_000 });
      outbox.append([msg('res', 'r1', 'result'), msg('ev', 't1'), msg('forced', 's1', 'security'), msg('ev', 't2')]);
      const outcome = outbox.append([msg('ev', 't3'), msg('res', 'r2', 'result')]);
      assert.equal(outcome.dropped, 2);
      assert.deepEqual(texts(outbox.take(10)), ['res=r1', 'forced=s1', 'ev=t3', 'res=r2']);
      assert.deepEqual(outbox.stats().dropped, { retained: 0, result: 0, security: 0, telemetry: 2 });
    });

    it('drops retained values before results, and results or security events only when nothing else is left', () => {
      const outbox = create({ maxMessages: 2, maxBytes: 1_000_000 });
      outbox.append([msg('res', 'r1', 'result'), msg('st/x', 'x', 'retained')]);
      outbox.append([msg('forced', 's1', 'security')]);
      assert.deepEqual(outbox.stats().byClass, { retained: 0, result: 1, security: 1, telemetry: 0 });
      outbox.append([msg('ev', 'late telemetry')]);
      assert.deepEqual(outbox.stats().byClass, { retained: 0, result: 1, security: 1, telemetry: 0 }, 'the new telemetry itself is dropped');
      outbox.append([msg('res', 'r2', 'result')]);
      assert.deepEqual(texts(outbox.take(10)), ['forced=s1', 'res=r2'], 'the oldest of results and security events went');
      assert.deepEqual(outbox.stats().dropped, { retained: 1, result: 1, security: 0, telemetry: 1 });
    });

    it('enforces the byte limit the same way', () => {
      const outbox = create({ maxMessages: 1000, maxBytes: 25 });
      outbox.append([msg('r', '123456789', 'result'), msg('t', '123456789'), msg('t', 'abcdefghi')]);
      assert.deepEqual(texts(outbox.take(10)), ['r=123456789', 't=abcdefghi']);
      assert.equal(outbox.stats().bytes, 20);
      assert.equal(outbox.stats().dropped.telemetry, 1);
    });

    it('drops a message larger than the byte limit on arrival', () => {
      const outbox = create({ maxMessages: 1000, maxBytes: 10 });
      outbox.append([msg('a', '1234')]);
      const outcome = outbox.append([msg('big', 'x'.repeat(20), 'result')]);
      assert.equal(outcome.dropped, 1);
      assert.deepEqual(texts(outbox.take(10)), ['a=1234']);
      assert.equal(outbox.stats().dropped.result, 1);
    });

    it('never drops in-flight rows', () => {
      const outbox = create({ maxMessages: 2, maxBytes: 1_000_000 });
      outbox.append([msg('ev', 't1'), msg('ev', 't2')]);
      const inFlight = outbox.take(2);
      outbox.append([msg('ev', 't3')]);
      assert.equal(outbox.ack(inFlight.map((r) => r.seq)), 2, 'both in-flight rows were still there');
      assert.equal(outbox.stats().dropped.telemetry, 1, 't3 itself was the only droppable row');
    });

    it('reports drops with their time span until announced, then only later drops', () => {
      const outbox = create({ maxMessages: 1, maxBytes: 1_000_000 });
      assert.equal(outbox.overflow(), undefined);
      outbox.append([msg('ev', 'a', 'telemetry', 100), msg('ev', 'b', 'telemetry', 200), msg('ev', 'c', 'telemetry', 300)]);
      const report = outbox.overflow();
      assert.deepEqual(report, { total: 2, byClass: { retained: 0, result: 0, security: 0, telemetry: 2 }, firstAt: 100, lastAt: 200 });
      outbox.append([msg('res', 'r', 'result', 400)]);
      outbox.overflowReported(report!);
      assert.deepEqual(outbox.overflow()?.byClass, { retained: 0, result: 0, security: 0, telemetry: 1 }, 'the drop after the report stays');
      outbox.overflowReported(outbox.overflow()!);
      assert.equal(outbox.overflow(), undefined);
      assert.equal(outbox.stats().dropped.telemetry, 3, 'totals are kept');
    });

    it('keeps per-topic order through take, ack and release', () => {
      const outbox = create(ROOMY);
      const seqPayloads = Array.from({ length: 20 }, (_, i) => msg(`ev/${i % 3}`, String(i)));
      outbox.append(seqPayloads);
      const first = outbox.take(7);
      outbox.ack(first.filter((_, i) => i % 2 === 0).map((r) => r.seq));
      outbox.release();
      const rest = outbox.take(100);
      for (const topic of ['ev/0', 'ev/1', 'ev/2']) {
        const values = rest.filter((r) => r.topic === topic).map((r) => Number(r.payload.toString()));
        assert.deepEqual(values, [...values].sort((a, b) => a - b), `${topic} in order`);
      }
    });
  });
}
