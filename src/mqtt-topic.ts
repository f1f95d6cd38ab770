// MQTT 3.1.1 topic semantics (section 4.7): names, filters and matching. Shared by the broker's
// ACL, the uplink's forward filters and config validation.

export const SEPARATOR = '/';
export const SINGLE = '+';
export const MULTI = '#';
// MQTT-1.5.3: a UTF-8 encoded string is at most 65535 bytes.
const MAX_TOPIC_BYTES = 65535;

function commonTopicError(value: string, what: string): string | null {
  if (typeof value !== 'string') return `${what} must be a string`;
  // MQTT-4.7.3-1
  if (value.length === 0) return `${what} must not be empty`;
  // MQTT-4.7.3-3 (a UTF-16 code unit takes at most 3 UTF-8 bytes: shorter strings need no count)
  if (value.length > MAX_TOPIC_BYTES / 3 && Buffer.byteLength(value, 'utf8') > MAX_TOPIC_BYTES) return `${what} is longer than ${MAX_TOPIC_BYTES} bytes`;
  // MQTT-4.7.3-2 (and MQTT-1.5.3-2)
  if (value.includes('\u0000')) return `${what} must not contain U+0000`;
  return null;
}

/** Error text for an invalid topic filter (MQTT-4.7.1-2, MQTT-4.7.1-3, MQTT-4.7.3-1..3), or null when valid. */
export function validateTopicFilter(filter: string): string | null {
  const common = commonTopicError(filter, 'topic filter');
  if (common) return common;
  const levels = filter.split(SEPARATOR);
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.includes(MULTI)) {
      // MQTT-4.7.1-2: '#' alone in its level, and the last level.
      if (level !== MULTI || i !== levels.length - 1) {
        return "'#' must be the whole last level of a topic filter";
      }
    } else if (level.includes(SINGLE) && level !== SINGLE) {
      // MQTT-4.7.1-3: '+' occupies an entire level.
      return "'+' must occupy a whole level of a topic filter";
    }
  }
  return null;
}

/** Error text for an invalid PUBLISH topic name (MQTT-3.3.2-2, MQTT-4.7.3-1..3), or null when valid. */
export function validateTopicName(topic: string): string | null {
  const common = commonTopicError(topic, 'topic name');
  if (common) return common;
  // MQTT-3.3.2-2: no wildcards in a topic name.
  if (topic.includes(SINGLE) || topic.includes(MULTI)) return 'topic name must not contain wildcards';
  return null;
}

function startsWithWildcard(level: string): boolean {
  return level === SINGLE || level === MULTI;
}

/**
 * Filters already found valid: matching runs for every message against a client's few ACL and
 * subscription filters, and the same strings come back each time. Bounded: cleared when full.
 */
const validFilters = new Set<string>();
const VALID_FILTERS_MAX = 10_000;

function isValidFilter(filter: string): boolean {
  if (validFilters.has(filter)) return true;
  if (validateTopicFilter(filter) !== null) return false;
  if (validFilters.size >= VALID_FILTERS_MAX) validFilters.clear();
  validFilters.add(filter);
  return true;
}

/** True when `topic` (a valid topic name) matches `filter` (a valid topic filter), MQTT 3.1.1 section 4.7. */
export function topicMatches(filter: string, topic: string): boolean {
  if (!isValidFilter(filter) || validateTopicName(topic) !== null) return false;
  const f = filter.split(SEPARATOR);
  const t = topic.split(SEPARATOR);
  // MQTT-4.7.2-1: a filter starting with a wildcard does not match a topic starting with '$'.
  if (startsWithWildcard(f[0]) && topic.startsWith('$')) return false;
  for (let i = 0; i < f.length; i++) {
    // MQTT-4.7.1-2: '#' also matches the parent level ("a/#" matches "a").
    if (f[i] === MULTI) return true;
    if (i >= t.length) return false;
    if (f[i] !== SINGLE && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * True when every topic that `requested` can match is matched by `acl` (both valid filters), so that
 * granting `requested` cannot deliver anything the ACL filter does not allow.
 */
export function filterCovers(acl: string, requested: string): boolean {
  if (validateTopicFilter(acl) !== null || validateTopicFilter(requested) !== null) return false;
  const a = acl.split(SEPARATOR);
  const r = requested.split(SEPARATOR);
  // MQTT-4.7.2-1: an ACL filter starting with a wildcard never matches '$' topics, so it cannot
  // cover a request whose first level is a literal '$' level. A request starting with a wildcard
  // cannot match '$' topics either, so it is unaffected.
  if (startsWithWildcard(a[0]) && !startsWithWildcard(r[0]) && r[0].startsWith('$')) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === MULTI) return true;
    if (i >= r.length) return false;
    if (r[i] === MULTI) return false; // the request reaches deeper levels than a non-'#' ACL level allows
    if (a[i] === SINGLE) continue; // covers a literal level and '+'
    if (r[i] !== a[i]) return false; // a literal ACL level covers only the same literal
  }
  if (r.length === a.length) return true;
  // "a" is covered by "a"; "a/#" requested under ACL "a" would also match "a/x": not covered.
  return false;
}

