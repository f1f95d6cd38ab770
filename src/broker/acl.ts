// The per-client access list, built on MQTT 3.1.1 topic semantics (src/mqtt-topic.ts).
import { filterCovers, MULTI, SEPARATOR, SINGLE, topicMatches, validateTopicFilter, validateTopicName } from '../mqtt-topic.js';

export { filterCovers, topicMatches, validateTopicFilter, validateTopicName } from '../mqtt-topic.js';

export interface AclRules {
  publish: string[];
  subscribe: string[];
  /**
   * Filters refused for publish and subscribe whatever the two lists above allow, checked first
   * (mosquitto's `topic deny`). Absent: nothing denied beyond what the lists leave out.
   */
  deny?: string[];
}

/** Why the access list refuses: no allow filter covers it (`acl`), or a deny filter does (`acl_deny`). */
export type AclRefusal = 'acl' | 'acl_deny';

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

/**
 * Deny rules fail closed: where %u or %c cannot be filled (an anonymous client, a name with
 * "/", "+" or "#"), the level becomes "+", so the rule denies that place for every name rather
 * than for none.
 */
function expandDeny(rules: readonly string[], vars: AclVars): string[] {
  const closed: AclVars = {
    username: isSafeLevel(vars.username) ? vars.username : SINGLE,
    clientId: isSafeLevel(vars.clientId) ? vars.clientId : SINGLE,
  };
  return rules.flatMap((rule) => {
    if (validateTopicFilter(rule) !== null) return [];
    return [rule.split(SEPARATOR).map((level) => (level === '%u' ? closed.username : level === '%c' ? closed.clientId : level)).join(SEPARATOR)];
  });
}

/**
 * One client's access list. No rules means nothing is allowed. Deny filters come first: a topic
 * one of them matches is never published by the client nor delivered to it. A subscription is
 * refused when a deny filter covers all of it; one that only overlaps a deny filter (`site/#`
 * against `site/x/camera/+/image`) is granted, and the denied topics are dropped at delivery
 * (canReceive), as mosquitto checks each message it delivers against its ACL.
 */
export class Acl {
  private readonly publishFilters: string[];
  private readonly subscribeFilters: string[];
  private readonly denyFilters: string[];

  constructor(rules: AclRules, vars: AclVars) {
    this.publishFilters = expand(rules.publish, vars);
    this.subscribeFilters = expand(rules.subscribe, vars);
    this.denyFilters = expandDeny(rules.deny ?? [], vars);
  }

  /** Why publishing to `topic` is refused, or null when it is allowed. */
  publishRefusal(topic: string): AclRefusal | null {
    if (validateTopicName(topic) !== null) return 'acl';
    if (this.denyFilters.some((filter) => topicMatches(filter, topic))) return 'acl_deny';
    return this.publishFilters.some((filter) => topicMatches(filter, topic)) ? null : 'acl';
  }

  /** Why subscribing to `filter` is refused, or null when it is granted. */
  subscribeRefusal(filter: string): AclRefusal | null {
    if (validateTopicFilter(filter) !== null) return 'acl';
    if (this.denyFilters.some((deny) => filterCovers(deny, filter))) return 'acl_deny';
    return this.subscribeFilters.some((rule) => filterCovers(rule, filter)) ? null : 'acl';
  }

  canPublish(topic: string): boolean {
    return this.publishRefusal(topic) === null;
  }

  canSubscribe(filter: string): boolean {
    return this.subscribeRefusal(filter) === null;
  }

  /** Whether a message on `topic` may be delivered through a granted subscription: no deny filter matches it. */
  canReceive(topic: string): boolean {
    return !this.denyFilters.some((filter) => topicMatches(filter, topic));
  }
}
