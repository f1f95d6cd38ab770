// How large a gateway command's answer may be. A result is one MQTT message: it must fit the local
// broker's packet limit (broker.limits.max_packet_bytes, which its clients are likely configured
// alike) and the cloud broker's Maximum Packet Size (MQTT 5 CONNACK, when it gave one), whatever
// the site's size. Lists are cut to fit, with `more: true`; nothing is ever cut mid-item.

/** The most `data` a gateway command puts in one result, before any broker's limit. */
export const RESULT_MAX_BYTES = 256 * 1024;
/**
 * Room kept beside `data` for the rest of the result (id, message, source, kind, device, timing,
 * `duplicate`), the topic, the MQTT fixed header and MQTT 5 properties (user properties,
 * correlation data of up to 64 bytes or so): well under this.
 */
export const RESULT_ENVELOPE_BYTES = 2048;

/** Bytes `data` may take: the smallest of RESULT_MAX_BYTES and the packet limits given, less the envelope's room. */
export function dataBudget(packetLimits: readonly (number | null | undefined)[]): number {
  const limits = packetLimits.filter((n): n is number => typeof n === 'number' && n > 0);
  return Math.max(0, Math.min(RESULT_MAX_BYTES, ...limits) - RESULT_ENVELOPE_BYTES);
}

export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/**
 * `build(items)` with as many of `items` as fit in `budget` bytes of JSON; `more` when some were
 * left out. `keep: 'last'` keeps the end of the list (the newest journal rows) instead of its start.
 */
export function fitList<T>(items: readonly T[], budget: number, build: (kept: T[], more: boolean) => Record<string, unknown>, keep: 'first' | 'last' = 'first'): Record<string, unknown> {
  // `more: true` and the list's brackets are counted from the start, so what is built always fits.
  let used = jsonBytes(build([], true));
  const order = keep === 'first' ? items : [...items].reverse();
  let count = 0;
  for (const item of order) {
    const size = jsonBytes(item) + (count > 0 ? 1 : 0);
    if (used + size > budget) break;
    used += size;
    count++;
  }
  const kept = keep === 'first' ? items.slice(0, count) : items.slice(items.length - count);
  return build(kept, count < items.length);
}
