// "Did you mean ...?" for typos in keys and names: the closest known word by edit distance, when it
// is close enough to be a likely typo (a third of the word's length, at least one edit), or a key
// written without its unit suffix (`timeout` for `timeout_ms`).

/** Edit distance with adjacent transpositions (optimal string alignment): each edit costs 1. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** `timeout` for `timeout_ms`, `max_unlock` for `max_unlock_ms`: the word is the key less a suffix. */
function isPrefixOf(word: string, candidate: string): boolean {
  return word.length >= 3 && candidate.startsWith(word) && /^[_-]/.test(candidate.slice(word.length));
}

/** The known word nearest to `word`, or undefined when none is a likely typo of it. */
export function nearest(word: string, known: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: { word: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = isPrefixOf(word.toLowerCase(), candidate.toLowerCase()) ? 1 : editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { word: candidate, distance };
  }
  return best?.word;
}

/** `: did you mean "x"?` to append to a message, or '' when nothing is close. */
export function suggestionFor(word: string, known: Iterable<string>): string {
  const match = nearest(word, known);
  return match === undefined ? '' : ` (did you mean ${JSON.stringify(match)}?)`;
}
