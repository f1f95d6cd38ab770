// Compares what a documented example printed with the output the page shows for it.
//
// The page shows real output, but times, ids and counters differ from run to run, and a live
// site prints extra lines (a door forced now and then). So an expected block is read as a set of
// line patterns, each of which must match its own line of the output, in any order:
//   - `...` stands for any text (also none);
//   - every run of digits stands for any run of digits;
//   - runs of spaces match any run of spaces; leading and trailing spaces are ignored.
// Output lines that no expected line claims are allowed.

function linePattern(expected: string): RegExp {
  const parts = expected.trim().split(/(\.\.\.|\d+|\s+)/);
  const source = parts
    .map((part) => {
      if (part === '...') return '.*';
      if (/^\d+$/.test(part)) return '\\d+';
      if (/^\s+$/.test(part)) return '\\s+';
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`);
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/**
 * The expected lines that found no output line of their own (empty when the output matches).
 * Matching is a bipartite matching (augmenting paths), so a general pattern never steals the one
 * line a more specific pattern needed.
 */
export function unmatchedLines(expected: string, actual: string): string[] {
  const wanted = lines(expected);
  const got = lines(actual);
  const candidates = wanted.map((w) => {
    const pattern = linePattern(w);
    return got.flatMap((g, index) => (pattern.test(g) ? [index] : []));
  });
  const owner = new Array<number>(got.length).fill(-1);
  const assign = (w: number, seen: Set<number>): boolean => {
    for (const g of candidates[w]) {
      if (seen.has(g)) continue;
      seen.add(g);
      if (owner[g] === -1 || assign(owner[g], seen)) {
        owner[g] = w;
        return true;
      }
    }
    return false;
  };
  return wanted.filter((_, w) => !assign(w, new Set()));
}
