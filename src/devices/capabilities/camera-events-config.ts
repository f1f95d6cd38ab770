// A camera's `events` block: whether gatehouse follows the camera's own events, which topics, the
// debounce and the rate limit. Strict: a boolean is true or false, never a string; numbers are
// integers in range; topics are ONVIF concrete topic expressions. Every problem names its key
// under the device (`devices[lobby-cam].events.max_per_minute`).
import type { ConfigIssue } from '../../driver-api.js';

export interface CameraEventsConfig {
  enabled: boolean;
  /** Only these topics (each with the topics under it); absent: all. */
  topics?: readonly string[];
  /** The same event of the same source no more often than this; changes in between are folded into one trailing event. */
  min_interval_ms: number;
  /** Events per camera per minute; beyond it they are dropped (counted and logged once per burst), the state still follows. */
  max_per_minute: number;
}

export const CAMERA_EVENTS_DEFAULTS: CameraEventsConfig = { enabled: false, min_interval_ms: 1000, max_per_minute: 60 };

export const CAMERA_EVENTS_LIMITS = {
  min_interval_ms: { min: 0, max: 3_600_000 },
  max_per_minute: { min: 1, max: 6000 },
  topics: { max: 32, maxLength: 256 },
} as const;

const KEYS = ['enabled', 'topics', 'min_interval_ms', 'max_per_minute'];
/** A concrete topic expression: prefix:Name/Name..., e.g. tns1:RuleEngine/CellMotionDetector/Motion. */
const TOPIC = /^[A-Za-z_][A-Za-z0-9_.-]*:[A-Za-z_][A-Za-z0-9_.-]*(\/[A-Za-z_][A-Za-z0-9_.-]*)*$/;

function integerIn(value: unknown, limits: { min: number; max: number }, key: string, issues: ConfigIssue[]): number | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < limits.min || value > limits.max) {
    issues.push({ path: key, message: `must be an integer from ${limits.min} to ${limits.max}, got ${JSON.stringify(value)}` });
    return undefined;
  }
  return value;
}

export function parseCameraEvents(raw: unknown, path: string, issues: ConfigIssue[]): CameraEventsConfig {
  if (raw === undefined) return { ...CAMERA_EVENTS_DEFAULTS };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    issues.push({ path, message: `must be a mapping {${KEYS.join(', ')}}, got ${JSON.stringify(raw)}` });
    return { ...CAMERA_EVENTS_DEFAULTS };
  }
  const entry = raw as Record<string, unknown>;
  for (const key of Object.keys(entry)) {
    if (!KEYS.includes(key)) issues.push({ path: `${path}.${key}`, message: `unknown key (allowed: ${KEYS.join(', ')})` });
  }
  const config: CameraEventsConfig = { ...CAMERA_EVENTS_DEFAULTS };
  if (entry.enabled !== undefined) {
    if (typeof entry.enabled !== 'boolean') issues.push({ path: `${path}.enabled`, message: `must be true or false, got ${JSON.stringify(entry.enabled)}` });
    else config.enabled = entry.enabled;
  }
  for (const key of ['min_interval_ms', 'max_per_minute'] as const) {
    if (entry[key] === undefined) continue;
    const value = integerIn(entry[key], CAMERA_EVENTS_LIMITS[key], `${path}.${key}`, issues);
    if (value !== undefined) config[key] = value;
  }
  if (entry.topics !== undefined) {
    const { max, maxLength } = CAMERA_EVENTS_LIMITS.topics;
    if (!Array.isArray(entry.topics) || entry.topics.length === 0 || entry.topics.length > max) {
      issues.push({ path: `${path}.topics`, message: `must be a list of 1 to ${max} ONVIF topics (e.g. tns1:VideoSource/MotionAlarm), got ${JSON.stringify(entry.topics)}` });
    } else {
      entry.topics.forEach((topic: unknown, i) => {
        if (typeof topic !== 'string' || topic.length > maxLength || !TOPIC.test(topic)) {
          issues.push({ path: `${path}.topics[${i}]`, message: `must be an ONVIF topic such as tns1:RuleEngine/CellMotionDetector/Motion, got ${JSON.stringify(topic)}` });
        }
      });
      config.topics = entry.topics as string[];
    }
  }
  return config;
}
