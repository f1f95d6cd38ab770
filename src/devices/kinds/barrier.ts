// A vehicle barrier: an arm raised while the `open` output is on, a safety loop under it (`loop`,
// true = a vehicle on it) and optional end limit switches (`arm_open`, `arm_closed`). `open` raises
// it for duration_ms and lowers it again; neither that nor `close` nor the safe state ever lowers
// the arm while a vehicle is on the loop: the close waits, and says `obstructed` if the wait is long.
// State {position, vehicle_present, updated_at}; events obstructed, vehicle_passed.
import { defineKind } from '../capabilities/compose.js';
import { endLimits } from '../capabilities/end-limits.js';
import { pulsedOutput, type PulsedOutput } from '../capabilities/pulsed-output.js';
import { safetyLoop, type SafetyLoop } from '../capabilities/safety-loop.js';

type Parts = { arm: PulsedOutput<Parts>; loop: SafetyLoop<Parts> };

const arm = pulsedOutput<Parts>({
  output: 'open',
  onStart: { off: 'close', on: 'open', doc: 'on_start: close (the default; once the loop is clear), open, or leave' },
  pulse: { setting: 'open_ms', maxSetting: 'max_open_ms', min: 1000, max: 3_600_000, default: 20_000, maxDefault: 120_000 },
  interlock: ({ loop }) => loop,
});

export const barrierKind = defineKind({
  name: 'barrier',
  description: 'a vehicle barrier arm with a safety loop: it never lowers onto a vehicle',
  pieces: {
    position: endLimits<Parts>({ field: 'position', open: 'arm_open', closed: 'arm_closed', fallback: ({ arm }) => (arm.value === 'on' ? 'open' : arm.value === 'off' ? 'closed' : 'unknown') }),
    loop: safetyLoop<Parts>({ input: 'loop', field: 'vehicle_present', passing: ({ arm }) => arm.value === 'on' }),
    arm,
  },
  commands: {
    open: {
      doc: 'Raise the arm for duration_ms (default open_ms, at most max_open_ms), then lower it once the loop is clear.',
      args: arm.pulseArgs,
      run: async ({ arm }, args, signal) => ({ auto_close_at: await arm.pulse(args.duration_ms as number | undefined, signal) }),
    },
    close: {
      doc: 'Lower the arm: now if the loop is clear, else as soon as it clears (waiting_for_vehicle: true).',
      args: {},
      run: async ({ arm }) => ({ waiting_for_vehicle: (await arm.secure()).deferred }),
    },
  },
});
