// A reader of the Prometheus text exposition format (version 0.0.4), enough for `gatehouse status`
// and tests: samples with their labels and values; HELP, TYPE and other comments are skipped.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class TextFormatError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`metrics text line ${line}: ${message}`);
    this.name = 'TextFormatError';
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** Go's ParseFloat, which Prometheus uses, takes NaN and Inf in any case (prom-client writes `Nan`). */
function parseValue(text: string, line: number): number {
  const lower = text.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new TextFormatError(line, `not a number: ${JSON.stringify(text)}`);
  return value;
}

/** Label values escape backslash, double quote and line feed (`\\`, `\"`, `\n`). */
function parseLabels(text: string, start: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, end: i + 1 };
    const name = LABEL_NAME.exec(text.slice(i));
    if (!name) throw new TextFormatError(line, `bad label name at column ${i + 1}`);
    i += name[0].length;
    if (text[i] !== '=' || text[i + 1] !== '"') throw new TextFormatError(line, `expected =" after label ${name[0]}`);
    i += 2;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new TextFormatError(line, `unterminated value of label ${name[0]}`);
      i++;
      if (c === '"') break;
      if (c === '\\') {
        const next = text[i++];
        value += next === 'n' ? '\n' : (next ?? '');
      } else {
        value += c;
      }
    }
    labels[name[0]] = value;
    while (text[i] === ' ') i++;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new TextFormatError(line, `expected , or } after label ${name[0]}`);
  }
}

export function parseTextFormat(text: string): Sample[] {
  const samples: Sample[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const name = NAME.exec(trimmed);
    if (!name) throw new TextFormatError(line, 'expected a metric name');
    let rest = trimmed.slice(name[0].length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      const parsed = parseLabels(rest, 1, line);
      labels = parsed.labels;
      rest = rest.slice(parsed.end);
    }
    const [value] = rest.trim().split(/\s+/); // an optional timestamp may follow
    samples.push({ name: name[0], labels, value: parseValue(value ?? '', line) });
  });
  return samples;
}

/** Samples named `name` whose labels include every one of `labels`. */
export function select(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The sum of the samples `select` finds (0 when none). */
export function sumOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return select(samples, name, labels).reduce((sum, s) => sum + s.value, 0);
}
