// A turnstile: `pass_in` / `pass_out` outputs pulsed once per authorised passage, a `free` output
// for free-passage mode, and optional passage counters (`passages_in`, `passages_out`).
// State {mode, passages_in, passages_out, updated_at}; events unlocked, locked, passage.
import { defineKind } from '../capabilities/compose.js';
import { momentaryOutputs } from '../capabilities/momentary-outputs.js';
import { passageCounter } from '../capabilities/passage-counter.js';
import { pulsedOutput } from '../capabilities/pulsed-output.js';

export const turnstileKind = defineKind({
  name: 'turnstile',
  description: 'a turnstile: one authorised passage per pulse, free-passage mode, passage counters',
  pieces: {
    passes: momentaryOutputs({ outputs: ['pass_in', 'pass_out'], setting: { name: 'pulse_ms', spec: { type: 'int', min: 50, max: 10_000, default: 500 } } }),
    mode: pulsedOutput({
      output: 'free',
      onStart: { off: 'lock', on: 'unlock', doc: 'on_start: lock (no free passage, the default), unlock (free passage) or leave; a fail-secure turnstile is locked at a stop' },
      field: { name: 'mode', off: 'locked', on: 'free', doc: '"locked", "free" (free passage), or "unknown" until written or read back.' },
      events: {
        on: { name: 'unlocked', doc: 'Free passage was switched on.' },
        off: { name: 'locked', doc: 'Free passage was switched off.' },
      },
    }),
    counters: passageCounter({ inputs: { in: 'passages_in', out: 'passages_out' } }),
  },
  commands: {
    pass: {
      doc: 'Let one person through in direction "in" or "out" (pulses pass_in or pass_out for pulse_ms).',
      args: { direction: { type: 'enum', values: ['in', 'out'] } },
      required: ['direction'],
      run: async ({ passes }, args, signal) => {
        const direction = args.direction as 'in' | 'out';
        await passes.pulse(direction === 'in' ? 'pass_in' : 'pass_out', signal, { direction });
        return { direction };
      },
    },
    unlock: {
      doc: 'Switch free passage on.',
      args: {},
      run: async ({ mode }, _args, signal) => {
        await mode.set(true, signal);
        return {};
      },
    },
    lock: {
      doc: 'Switch free passage off.',
      args: {},
      run: async ({ mode }, _args, signal) => {
        await mode.set(false, signal);
        return {};
      },
    },
  },
});
