// A bench's integer command-line option, checked against its range, with an error naming it.

export function intOption(values: Record<string, unknown>, name: string, min: number, max: number): number {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer ${min}..${max}, got ${String(values[name])}`);
  return n;
}
