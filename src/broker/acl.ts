// The per-client access list, built on MQTT 3.1.1 topic semantics (src/mqtt-topic.ts).
import { filterCovers, MULTI, SEPARATOR, SINGLE, topicMatches, validateTopicFilter, validateTopicName } from '../mqtt-topic.js';

export { filterCovers, topicMatches, validateTopicFilter, validateTopicName } from '../mqtt-topic.js';

export interface AclRules {
  publish: string[];
  subscribe: string[];
}

export interface AclVars {
  username?: string;
  clientId: string;
}

// A value substituted for %u or %c must be a single, literal, non-empty level, otherwise a
// client could widen a pattern rule by choosing its name ("+", "#", "a/b").
function isSafeLevel(value: string | undefined): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    !value.includes(SEPARATOR) &&
    !value.includes(SINGLE) &&
    !value.includes(MULTI) &&
    !value.includes('\u0000')
  );
}

/**
 * Substitute %u and %c in a rule the way mosquitto pattern ACLs do: the pattern must be the whole
 * level. Returns null when the rule cannot apply to this client (a %u rule for an anonymous client).
 */
function substitute(rule: string, vars: AclVars): string | null {
  if (validateTopicFilter(rule) !== null) return null;
  const levels = rule.split(SEPARATOR);
  for (let i = 0; i < levels.length; i++) {
    if (levels[i] === '%u') {
      if (!isSafeLevel(vars.username)) return null;
      levels[i] = vars.username;
    } else if (levels[i] === '%c') {
      if (!isSafeLevel(vars.clientId)) return null;
      levels[i] = vars.clientId;
    }
  }
  return levels.join(SEPARATOR);
}

function expand(rules: readonly string[], vars: AclVars): string[] {
  const out: string[] = [];
  for (const rule of rules) {
    const filter = substitute(rule, vars);
    if (filter !== null) out.push(filter);
  }
  return out;
}

/** One client's access list. No rules means nothing is allowed. */
export class Acl {
  private readonly publishFilters: string[];
  private readonly subscribeFilters: string[];

  constructor(rules: AclRules, vars: AclVars) {
    this.publishFilters = expand(rules.publish, vars);
    this.subscribeFilters = expand(rules.subscribe, vars);
  }

  canPublish(topic: string): boolean {
    if (validateTopicName(topic) !== null) return false;
    return this.publishFilters.some((filter) => topicMatches(filter, topic));
  }

  canSubscribe(filter: string): boolean {
    if (validateTopicFilter(filter) !== null) return false;
    return this.subscribeFilters.some((rule) => filterCovers(rule, filter));
  }
}
