// Strict parsing of a command payload: empty, or a JSON object with `id`, `sent_at`, `ttl_ms`
// and the command's own arguments (validated later against the command's spec).

export const MAX_PAYLOAD_BYTES = 8192;
export const MAX_ID_LENGTH = 64;
/** An hour: a door command meant to wait longer than that is a mistake. */
export const MAX_TTL_MS = 3_600_000;

export interface CommandEnvelope {
  id?: string;
  sent_at?: number;
  ttl_ms?: number;
  args: Record<string, unknown>;
}

export type EnvelopeResult = { ok: true; envelope: CommandEnvelope } | { ok: false; message: string; id?: string };

const ID_CHARS = /^[\x21-\x7e]+$/; // printable ASCII, no spaces or control characters
const utf8 = new TextDecoder('utf-8', { fatal: true });

function isEpochMs(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function parseEnvelope(payload: Uint8Array): EnvelopeResult {
  if (payload.length === 0) return { ok: true, envelope: { args: {} } };
  if (payload.length > MAX_PAYLOAD_BYTES) return { ok: false, message: `payload is ${payload.length} bytes; at most ${MAX_PAYLOAD_BYTES} allowed` };
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return { ok: false, message: 'payload is not valid UTF-8' };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `payload is not valid JSON: ${(err as Error).message}` };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { ok: false, message: 'payload must be empty or a JSON object' };
  }
  const { id, sent_at, ttl_ms, ...args } = doc as Record<string, unknown>;
  const validId = typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH && ID_CHARS.test(id);
  if (id !== undefined && !validId) {
    return { ok: false, message: `id must be a string of 1 to ${MAX_ID_LENGTH} printable ASCII characters without spaces` };
  }
  const known = validId ? (id as string) : undefined;
  if (sent_at !== undefined && !isEpochMs(sent_at)) {
    return { ok: false, id: known, message: 'sent_at must be a non-negative integer (epoch milliseconds)' };
  }
  if (ttl_ms !== undefined && !(Number.isSafeInteger(ttl_ms) && (ttl_ms as number) >= 1 && (ttl_ms as number) <= MAX_TTL_MS)) {
    return { ok: false, id: known, message: `ttl_ms must be an integer from 1 to ${MAX_TTL_MS}` };
  }
  return { ok: true, envelope: { id: known, sent_at: sent_at as number | undefined, ttl_ms: ttl_ms as number | undefined, args } };
}
