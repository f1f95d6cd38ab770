// CSV (RFC 4180) cells that a spreadsheet shows as text: quoted when they hold a comma, quote or
// line break, and a cell that a spreadsheet would run as a formula (starting with = + - @, or a
// tab or carriage return) is prefixed with an apostrophe (OWASP CSV injection).
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(cells: readonly unknown[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
