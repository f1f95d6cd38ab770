// A PieceContext for testing one capability piece alone: writes, events and touches are recorded.
import { OutputLane } from '../../../src/devices/capabilities/output-lane.js';
import type { PieceContext } from '../../../src/devices/capabilities/piece.js';
import type { FieldValues } from '../../../src/config/fields.js';
import type { Readings } from '../../../src/driver-api.js';

/** `failWrite(output, on)` true (or an Error to throw): that write throws, after it is recorded in `tried`. */
export function pieceContext(
  settings: FieldValues = {},
  opts: { inputs?: () => Readings; failWrite?: (output: string, on: boolean) => boolean | Error; holdWrite?: (output: string, on: boolean) => Promise<void> | undefined } = {},
) {
  const writes: { output: string; on: boolean }[] = [];
  const tried: { output: string; on: boolean; args?: Readonly<Record<string, string | number>> }[] = [];
  const logs: { level: 'info' | 'warn' | 'error'; msg: string; obj: object }[] = [];
  const events: { type: string; details?: Record<string, unknown> }[] = [];
  let touches = 0;
  let changes = 0;
  const outputs = {
    async write(output: string, on: boolean, _signal?: AbortSignal, args?: Readonly<Record<string, string | number>>) {
      tried.push({ output, on, ...(args ? { args } : {}) });
      await opts.holdWrite?.(output, on);
      const fail = opts.failWrite?.(output, on);
      if (fail instanceof Error) throw fail;
      if (fail) throw new Error(`${output} write failed`);
      writes.push({ output, on });
    },
    has: () => true,
  };
  const ctx: PieceContext = {
    deviceId: 'd1',
    kind: 'test',
    settings,
    outputs,
    ...(opts.inputs ? { inputs: { read: async () => opts.inputs!() } } : {}),
    lane: new OutputLane(outputs, 'test'),
    sink: { stateChanged() {}, event: (type, details) => void events.push({ type, details }) },
    log: {
      info: (obj: object, msg = '') => void logs.push({ level: 'info', msg, obj }),
      warn: (obj: object, msg = '') => void logs.push({ level: 'warn', msg, obj }),
      error: (obj: object, msg = '') => void logs.push({ level: 'error', msg, obj }),
    },
    touch: () => void touches++,
    changed: () => void changes++,
  };
  return { ctx, writes, tried, logs, events, touches: () => touches, changes: () => changes, eventTypes: () => events.map((e) => e.type) };
}
