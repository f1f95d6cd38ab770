// A device's state (its retained state topic) as a few words: what a technician checks first.
// One function for `gatehouse status` (src/cli/status-report.ts) and the console's device summaries.
import { clockTime } from '../cli/time-format.js';

type State = Record<string, unknown>;
type Describe = (state: State, now: number) => string;

const num = (v: unknown): string => (typeof v === 'number' && Number.isFinite(v) ? String(v) : '?');
const time = (v: unknown, now: number): string | undefined => (typeof v === 'number' && Number.isFinite(v) ? clockTime(v, now) : undefined);

const describers: Record<string, Describe> = {
  gate(state, now) {
    const until = time(state.unlocked_until, now);
    const lock = state.lock === 'unlocked' ? `unlocked${until ? ` until ${until}` : ''}` : state.lock === 'locked' ? 'locked' : 'lock unknown';
    return `${lock}, door ${typeof state.door === 'string' ? state.door : 'unknown'}`;
  },
  turnstile(state) {
    const mode = state.mode === 'free' ? 'free passage' : state.mode === 'locked' ? 'locked' : 'mode unknown';
    return `${mode}, passages in ${num(state.passages_in)}, out ${num(state.passages_out)}`;
  },
  barrier(state) {
    const position = state.position === 'open' || state.position === 'closed' ? state.position : typeof state.position === 'string' ? `arm ${state.position}` : 'position unknown';
    const vehicle = state.vehicle_present === true ? 'vehicle present' : state.vehicle_present === false ? 'no vehicle' : 'loop unknown';
    return `${position}, ${vehicle}`;
  },
  camera(state, now) {
    const parts: string[] = [];
    const snapshot = time(state.last_snapshot_at, now);
    parts.push(snapshot ? `last snapshot ${snapshot}` : 'no snapshot yet');
    if (state.moving === true) parts.push(`moving${time(state.moving_until, now) ? ` until ${time(state.moving_until, now)}` : ''}`);
    const preset = state.preset as { token?: unknown; name?: unknown } | null | undefined;
    if (preset && typeof preset === 'object') parts.push(`preset ${preset.name && preset.name !== preset.token ? `"${String(preset.name)}" (${String(preset.token)})` : String(preset.token)}`);
    return parts.join(', ');
  },
};

/** Scalar fields but the timestamp, for kinds without their own wording. */
function generic(state: State): string {
  const text = Object.entries(state)
    .filter(([key, value]) => key !== 'updated_at' && value !== null && ['string', 'number', 'boolean'].includes(typeof value))
    .map(([key, value]) => `${key} ${String(value)}`)
    .join(', ');
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

export function describeDeviceState(kind: string, state: State, now: number = Date.now()): string {
  if (typeof state.error === 'string') return state.error;
  return (Object.hasOwn(describers, kind) ? describers[kind] : generic)(state, now);
}
