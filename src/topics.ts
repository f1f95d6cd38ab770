// THE topic layout (DESIGN.md section 2). No other module builds or parses topic strings.
//
//   site/{site}/{kind}/{device}/{command}        command, to gatehouse
//   site/{site}/{kind}/{device}/{reserved leaf}  result | state | availability | event | image
//   site/{site}/gateway/{gateway}/{command}      a command to the gateway itself (status, journal, ...)
//   site/{site}/gateway/{gateway}/...            everything else here is the gateway's own

export const ID_PATTERN = /^[a-z0-9_-]{1,64}$/;

export const RESERVED_LEAVES = ['result', 'state', 'availability', 'event', 'image'] as const;
export type ReservedLeaf = (typeof RESERVED_LEAVES)[number];

export const GATEWAY_KIND = 'gateway';

/**
 * Why `prefix` cannot root another application's topics (Home Assistant's discovery prefix): it
 * would lie in gatehouse's own `site/` tree or among the broker's `$` topics, or end with an empty
 * level. null when it can.
 */
export function foreignPrefixProblem(prefix: string): string | null {
  if (prefix.startsWith('$') || prefix === 'site' || prefix.startsWith('site/') || prefix.endsWith('/')) {
    return 'must not start with "$" or "site/" (gatehouse\'s own topics) nor end with "/"';
  }
  return null;
}

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

export function deviceTopic(site: string, kind: string, device: string, leaf: ReservedLeaf | string): string {
  return `site/${site}/${kind}/${device}/${leaf}`;
}

export const topics = {
  command: (site: string, kind: string, device: string, command: string) => deviceTopic(site, kind, device, command),
  result: (site: string, kind: string, device: string) => deviceTopic(site, kind, device, 'result'),
  state: (site: string, kind: string, device: string) => deviceTopic(site, kind, device, 'state'),
  availability: (site: string, kind: string, device: string) => deviceTopic(site, kind, device, 'availability'),
  event: (site: string, kind: string, device: string) => deviceTopic(site, kind, device, 'event'),
  image: (site: string, device: string) => deviceTopic(site, 'camera', device, 'image'),
  gatewayAvailability: (site: string, gateway: string) => deviceTopic(site, GATEWAY_KIND, gateway, 'availability'),
  gatewayState: (site: string, gateway: string) => deviceTopic(site, GATEWAY_KIND, gateway, 'state'),
  gatewayCommand: (site: string, gateway: string, command: string) => deviceTopic(site, GATEWAY_KIND, gateway, command),
  gatewayResult: (site: string, gateway: string) => deviceTopic(site, GATEWAY_KIND, gateway, 'result'),
  /** The whole tree of one site, as a subscription filter. */
  siteTree: (site: string) => `site/${site}/#`,
  /** Every camera's image topic of a site, as a filter (e.g. to leave the JPEG bytes out of a watch). */
  imageFilter: (site: string) => deviceTopic(site, 'camera', '+', 'image'),
};

/** `kind/device`: one device across the gateway (the ledger's scope, a queue, a log or journal line). */
export function deviceKey(kind: string, device: string): string {
  return `${kind}/${device}`;
}

/** The kind and device of a `kind/device` key. */
export function parseDeviceKey(key: string): { kind: string; device: string } {
  const at = key.indexOf('/');
  return { kind: key.slice(0, at), device: key.slice(at + 1) };
}

/** `kind/command` entries of `uplink.allow_commands`; either side may be `*`. */
export const COMMAND_PATTERN_SYNTAX = /^([a-z0-9_-]{1,64}|\*)\/([a-z0-9_-]{1,64}|\*)$/;

/** The kind and command of a `kind/command` entry (either may be `*`), or undefined when it is not one. */
export function parseCommandPattern(entry: string): { kind: string; command: string } | undefined {
  const match = COMMAND_PATTERN_SYNTAX.exec(entry);
  return match ? { kind: match[1], command: match[2] } : undefined;
}

/**
 * One subscription filter per known (kind, command) pair; never a wildcard that also matches
 * reserved topics. The gateway's own commands name `gatewayId`: a site may have several gateways,
 * and each answers only what is addressed to it.
 */
export function commandFilters(site: string, catalog: Record<string, readonly string[]>, gatewayId?: string): string[] {
  const filters: string[] = [];
  for (const [kind, commands] of Object.entries(catalog)) {
    const device = kind === GATEWAY_KIND && gatewayId !== undefined ? gatewayId : '+';
    for (const command of commands) filters.push(`site/${site}/${kind}/${device}/${command}`);
  }
  return filters;
}

export type TopicClass =
  /** A command attempt for this site: `site/{site}/{kind}/{device}/{command}` with a non-reserved leaf. */
  | { type: 'command'; site: string; kind: string; device: string; command: string }
  /** Published only by gatehouse itself. */
  | { type: 'reserved'; site: string; leaf: string }
  /** Anything else: ordinary MQTT traffic, subject to the ACL. */
  | { type: 'other' };

/**
 * Classify a PUBLISH topic name as seen by the gateway of `site`.
 * Any topic of this site with a reserved leaf is reserved, and so is anything under the gateway
 * kind that is not a five-level topic. Any other five-level topic of this site (the gateway's
 * `site/{site}/gateway/{gateway}/{command}` included) is a command attempt; whether
 * its kind, device and command exist is the command pipeline's business (it answers with a coded
 * result), so that a typo gets an answer instead of silence.
 */
export function classifyTopic(site: string, topic: string): TopicClass {
  const parts = topic.split('/');
  if (parts[0] !== 'site' || parts[1] !== site) return { type: 'other' };
  const [, , kind, device, leaf] = parts;
  if (kind === GATEWAY_KIND && parts.length !== 5) return { type: 'reserved', site, leaf: parts.slice(4).join('/') };
  if (parts.length >= 5 && (RESERVED_LEAVES as readonly string[]).includes(leaf)) {
    return { type: 'reserved', site, leaf };
  }
  // Even with ids that break the id rules: such a command gets a coded result (unknown device)
  // instead of travelling on as ordinary traffic, or being retained.
  if (parts.length === 5) return { type: 'command', site, kind, device, command: leaf };
  return { type: 'other' };
}

/** True when `filter` could match a reserved topic of `site` (used to refuse wildcard command subscriptions upstream). */
export function isReservedTopic(site: string, topic: string): boolean {
  return classifyTopic(site, topic).type === 'reserved';
}

/** Levels of the longest contract topic: site/{site}/{kind}/{device}/{leaf}. */
export const CONTRACT_TOPIC_LEVELS = 5;

/** Longest id of the contract (ID_PATTERN). */
export const MAX_ID_LENGTH = 64;

/** Bytes of the longest contract topic: "site/" and four ids of MAX_ID_LENGTH with their separators. */
export const CONTRACT_MAX_TOPIC_BYTES = 'site/'.length + (CONTRACT_TOPIC_LEVELS - 1) * MAX_ID_LENGTH + (CONTRACT_TOPIC_LEVELS - 2);

/** MQTT 3.1.1 section 4.7.2: topics starting with '$' belong to the server; clients do not publish to them. */
export function isServerTopic(topic: string): boolean {
  return topic.startsWith('$');
}

/** The broker's own $SYS tree (aedes' heartbeat and statistics). */
export function isSysTopic(topic: string): boolean {
  return topic.startsWith('$SYS/');
}

/** The `{site}` level of a `site/{site}/...` topic or filter; undefined when it does not start so. */
export function siteOfTopic(topic: string): string | undefined {
  const parts = topic.split('/');
  return parts[0] === 'site' && parts.length > 2 ? parts[1] : undefined;
}
