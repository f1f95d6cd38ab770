// A gate: one lock-release output (`unlock`, on = released) and an optional door contact (`door`,
// true = open). State {lock, door, unlocked_until, updated_at}; events unlocked, locked,
// door_opened, door_closed, door_forced (opened while locked) and door_held_open.
import { defineKind } from '../capabilities/compose.js';
import { contactInput } from '../capabilities/contact-input.js';
import { pulsedOutput, type PulsedOutput } from '../capabilities/pulsed-output.js';

const lock = pulsedOutput({
  output: 'unlock',
  onStart: { off: 'lock', on: 'unlock', doc: 'on_start: lock (fail-secure, the default), unlock (fail-safe egress) or leave; relocked at a stop mid-pulse' },
  field: { name: 'lock', off: 'locked', on: 'unlocked', doc: '"locked", "unlocked", or "unknown" until written or read back.' },
  events: {
    on: { name: 'unlocked', doc: 'The lock was released (a command, or a safe state of unlock).' },
    off: { name: 'locked', doc: 'The lock was engaged again (the end of a pulse, a lock command, a readback).' },
  },
  announceReadback: true,
  offAction: 'relock',
  pulse: {
    setting: 'unlock_ms',
    maxSetting: 'max_unlock_ms',
    min: 100,
    max: 3_600_000,
    default: 5000,
    maxDefault: 60_000,
    until: { name: 'unlocked_until', doc: 'When the running unlock pulse ends, epoch ms; null when none runs.' },
  },
});

const door = contactInput<{ lock: PulsedOutput }>({ name: 'door', securedForMs: ({ lock }) => lock.offForMs() });

export const gateKind = defineKind({
  name: 'gate',
  description: 'a door or gate with an electric lock, released in pulses, and a door contact',
  pieces: { lock, door },
  stateOrder: ['lock', 'door', 'unlocked_until'],
  commands: {
    unlock: {
      doc: 'Release the lock for duration_ms (default unlock_ms), then relock; extends a pulse under way, never shortens it.',
      args: lock.pulseArgs,
      run: async ({ lock }, args, signal) => ({ unlocked_until: await lock.pulse(args.duration_ms as number | undefined, signal) }),
    },
    lock: {
      doc: 'Engage the lock now, ending any pulse.',
      args: {},
      run: async ({ lock }) => {
        await lock.secure();
        return {};
      },
    },
  },
});
