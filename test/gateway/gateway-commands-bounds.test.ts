// How large a gateway command's answer may be (src/gateway/gateway-commands-bounds.ts): the budget
// from the packet limits, and lists cut to fit, whole items only, with `more: true`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RESULT_ENVELOPE_BYTES, RESULT_MAX_BYTES, dataBudget, fitList, jsonBytes } from '../../src/gateway/gateway-commands-bounds.js';

describe('dataBudget', () => {
  it('takes the smallest limit given, less the room for the rest of the result', () => {
    assert.equal(dataBudget([]), RESULT_MAX_BYTES - RESULT_ENVELOPE_BYTES);
    assert.equal(dataBudget([1024 * 1024, null, undefined]), RESULT_MAX_BYTES - RESULT_ENVELOPE_BYTES);
    assert.equal(dataBudget([1024 * 1024, 8192]), 8192 - RESULT_ENVELOPE_BYTES);
    assert.equal(dataBudget([0, -1, 10_000]), 10_000 - RESULT_ENVELOPE_BYTES, 'no limit of 0 or less');
    assert.equal(dataBudget([100]), 0, 'never negative');
  });
});

describe('fitList', () => {
  const items = Array.from({ length: 50 }, (_, i) => ({ n: i, text: 'x'.repeat(20) }));
  const build = (kept: unknown[], more: boolean) => ({ rows: kept, ...(more ? { more: true } : {}) });

  it('keeps everything that fits, without more', () => {
    const all = fitList(items, 1_000_000, build);
    assert.deepEqual(all, { rows: items });
  });

  it('cuts at the budget, whole items, and says more; what it builds fits', () => {
    for (const budget of [40, 100, 333, 1000, jsonBytes({ rows: items }) - 1]) {
      const cut = fitList(items, budget, build);
      assert.equal(cut.more, true, `budget ${budget}`);
      assert.ok(jsonBytes(cut) <= budget, `${jsonBytes(cut)} bytes within ${budget}`);
      const rows = cut.rows as typeof items;
      assert.deepEqual(rows, items.slice(0, rows.length), 'the first ones, whole');
      // One more would not have fitted.
      assert.ok(jsonBytes(build(items.slice(0, rows.length + 1), true)) > budget);
    }
  });

  it("keeps the list's end when asked (the newest journal rows)", () => {
    const cut = fitList(items, 200, build, 'last');
    const rows = cut.rows as typeof items;
    assert.ok(rows.length > 0 && rows.length < items.length);
    assert.deepEqual(rows, items.slice(items.length - rows.length));
    assert.equal(cut.more, true);
  });

  it('counts bytes, not characters', () => {
    const wide = [{ t: 'é'.repeat(10) }, { t: 'é'.repeat(10) }];
    const cut = fitList(wide, jsonBytes(build([wide[0]], true)), build);
    assert.equal((cut.rows as unknown[]).length, 1);
  });
});
