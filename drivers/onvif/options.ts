// The onvif driver's `options` block: which media profile of the camera to use.
import type { ConfigIssue, PointSpec } from '../../src/driver-api.js';

export interface OnvifOptions {
  /** A profile token or name (token first); absent: the camera's first profile. */
  profile?: string;
}

const KEYS = ['profile'];
const MAX_PROFILE_LENGTH = 64;

export function parseOnvifOptions(raw: unknown, points: PointSpec, path: string): { options?: OnvifOptions; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const pointNames = [...points.outputs.required, ...points.inputs.required];
  if (pointNames.length > 0) {
    issues.push({ path, message: `the onvif driver drives cameras; it has no outputs or inputs (this device kind needs ${pointNames.join(', ')})` });
  }
  const source = raw ?? {};
  if (typeof source !== 'object' || source === null || Array.isArray(source)) {
    issues.push({ path, message: `must be a mapping {profile}, got ${JSON.stringify(raw)}` });
    return { issues };
  }
  const entries = source as Record<string, unknown>;
  for (const key of Object.keys(entries)) {
    if (!KEYS.includes(key)) issues.push({ path: `${path}.${key}`, message: `unknown key; expected ${KEYS.join(', ')}` });
  }
  const { profile } = entries;
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (profile !== undefined && (typeof profile !== 'string' || profile.length === 0 || profile.length > MAX_PROFILE_LENGTH || /[\u0000-\u001f\u007f]/.test(profile))) {
    issues.push({ path: `${path}.profile`, message: `must be a profile token or name of 1 to ${MAX_PROFILE_LENGTH} characters, got ${JSON.stringify(profile)}` });
  }
  if (issues.length > 0) return { issues };
  return { options: profile === undefined ? {} : { profile: profile as string }, issues };
}
