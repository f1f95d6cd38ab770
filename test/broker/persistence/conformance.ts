// The conformance suite aedes-persistence 11.0.0 ships (abstract.js), run under node:test: each of
// its cases is one `it` of a `describe` named after the implementation, so each appears and counts
// in `npm test`. A last case checks that every case of the file was registered.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

const fromHere = createRequire(import.meta.url);
// As aedes loads it: the version aedes-compat.ts checks.
const fromAedes = createRequire(fromHere.resolve('aedes'));
const ABSTRACT = fromAedes.resolve('aedes-persistence/abstract.js');

type TestFn = (t: unknown) => unknown;
type AbstractSuite = (opts: { test: (name: string, fn: TestFn) => void; persistence: () => unknown; testAsync?: boolean }) => void;

/** The number of cases abstract.js defines (each a top-level `test(` in its suite function). */
export function abstractCaseCount(): number {
  return (readFileSync(ABSTRACT, 'utf8').match(/^ {2}test\(/gm) ?? []).length;
}

/**
 * `build` returns a new, empty persistence. `async`: it has the promise API aedes 1.2.0 calls
 * (setup(broker) given the broker); otherwise the callback API of aedes-persistence's own.
 */
export function aedesPersistenceConformance(name: string, build: () => unknown, opts: { async: boolean }): void {
  const abstract = fromAedes(ABSTRACT) as AbstractSuite;
  describe(`${name}: aedes-persistence conformance (abstract.js)`, () => {
    let registered = 0;
    abstract({
      test: (caseName, fn) => {
        registered++;
        it(caseName, async (t) => {
          await fn(t);
        });
      },
      persistence: build,
      testAsync: opts.async,
    });
    it('runs every case of abstract.js', () => {
      assert.ok(registered >= 50, `only ${registered} cases registered`);
      assert.equal(registered, abstractCaseCount());
    });
  });
}
