// What an ONVIF notification means for a camera's kind: the common topics of the ONVIF Core
// specification's topic set (section 9.9 and the Analytics service's rule engine topics) become
// motion, tamper and input notices; everything else is passed on as `other` with its topic and
// simple items. A state topic whose value is not a boolean is passed on as `other` too.
import type { DeviceNotice } from '../../driver-api.js';
import type { OnvifNotification } from './events-soap.js';

interface StateTopic {
  /** The concrete topic, or a topic and everything under it when it ends with '/'. */
  topic: string;
  subject: 'motion' | 'tamper' | 'input';
  /** The Data item holding the state. */
  value: string;
  /** The Source items naming which one, the first present wins. */
  names: readonly string[];
}

const STATE_TOPICS: readonly StateTopic[] = [
  { topic: 'tns1:VideoSource/MotionAlarm', subject: 'motion', value: 'State', names: ['Source', 'VideoSourceToken', 'VideoSourceConfigurationToken'] },
  { topic: 'tns1:RuleEngine/CellMotionDetector/Motion', subject: 'motion', value: 'IsMotion', names: ['Rule', 'VideoSourceConfigurationToken'] },
  { topic: 'tns1:RuleEngine/TamperDetector/Tamper', subject: 'tamper', value: 'IsTamper', names: ['Rule', 'VideoSourceConfigurationToken'] },
  // ImagingService and AnalyticsService are the two subtopics ONVIF names.
  { topic: 'tns1:VideoSource/GlobalSceneChange/', subject: 'tamper', value: 'State', names: ['Source', 'VideoSourceToken', 'VideoSourceConfigurationToken'] },
  { topic: 'tns1:Device/Trigger/DigitalInput', subject: 'input', value: 'LogicalState', names: ['InputToken', 'Index'] },
];

function matches(topic: string, pattern: string): boolean {
  return pattern.endsWith('/') ? topic.startsWith(pattern) : topic === pattern;
}

/** xs:boolean (XML Schema Part 2 section 3.2.2): true, false, 1, 0. */
function xsBoolean(value: string | undefined): boolean | undefined {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return undefined;
}

/** Whether `topic` is one of `filters` or under one (a filter `tns1:RuleEngine` takes every rule engine topic). */
export function topicWanted(topic: string, filters: readonly string[] | undefined): boolean {
  if (filters === undefined) return true;
  return filters.some((f) => topic === f || topic.startsWith(f.endsWith('/') ? f : `${f}/`));
}

/** The notice a notification amounts to; null for a Deleted property (the camera dropped a rule or a source). */
export function noticeOf(n: OnvifNotification, clockOffsetMs: number): DeviceNotice | null {
  if (n.operation === 'Deleted') return null;
  const base = { initialized: n.operation === 'Initialized', deviceTime: n.utcTime, clockOffsetMs };
  const known = STATE_TOPICS.find((t) => matches(n.topic, t.topic));
  const active = known === undefined ? undefined : xsBoolean(n.data[known.value]);
  if (known !== undefined && active !== undefined) {
    const name = known.names.map((k) => n.source[k]).find((v) => v !== undefined && v !== '') ?? '';
    return { ...base, subject: known.subject, active, name, details: { topic: n.topic } };
  }
  const details: Record<string, string> = { topic: n.topic };
  for (const [k, v] of Object.entries(n.source)) details[`source.${k}`] = v;
  for (const [k, v] of Object.entries(n.data)) details[`data.${k}`] = v;
  return { ...base, subject: 'other', name: '', details };
}
