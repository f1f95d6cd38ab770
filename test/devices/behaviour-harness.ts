// A recording output port for behaviour tests: it stands where the driver's writes go.
import type { Readings } from '../../src/driver-api.js';
import type { Behaviour, BehaviourContext, KindDefinition } from '../../src/devices/kinds/types.js';
import { parseFields, type FieldValues } from '../../src/config/fields.js';

export interface Write {
  output: string;
  on: boolean;
  at: number;
}

export interface HarnessOptions {
  /** What the device reads when a behaviour reads it on demand (ctx.inputs); absent: it cannot. */
  inputs?: () => Readings;
}

export function harness(kind: KindDefinition, settings: Record<string, unknown> = {}, opts: HarnessOptions = {}) {
  const writes: Write[] = [];
  const events: { type: string; details?: Record<string, unknown> }[] = [];
  let stateChanges = 0;
  let failures = 0;
  const parsed = parseFields(settings, kind.settings);
  if (parsed.problems.length) throw new Error(JSON.stringify(parsed.problems));
  const ctx: BehaviourContext = {
    deviceId: 'd1',
    settings: parsed.values as FieldValues,
    outputs: {
      async write(output, on) {
        if (failures > 0) {
          failures--;
          throw new Error(`write ${output} failed`);
        }
        writes.push({ output, on, at: Date.now() });
      },
      has: () => true,
    },
    ...(opts.inputs ? { inputs: { read: async () => opts.inputs!() } } : {}),
    sink: {
      stateChanged: () => void stateChanges++,
      event: (type, details) => void events.push({ type, details }),
    },
    log: { info() {}, warn() {}, error() {} },
  };
  const behaviour: Behaviour = kind.createBehaviour(ctx);
  return {
    behaviour,
    writes,
    events,
    stateChanges: () => stateChanges,
    failNextWrites: (n: number) => void (failures = n),
    eventTypes: () => events.map((e) => e.type),
  };
}
