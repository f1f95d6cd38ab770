// A PieceContext for testing one capability piece alone: writes, events and touches are recorded.
import { OutputLane } from '../../../src/devices/capabilities/output-lane.js';
import type { PieceContext } from '../../../src/devices/capabilities/piece.js';
import type { FieldValues } from '../../../src/config/fields.js';
import type { Readings } from '../../../src/driver-api.js';

export function pieceContext(settings: FieldValues = {}, opts: { inputs?: () => Readings } = {}) {
  const writes: { output: string; on: boolean }[] = [];
  const events: { type: string; details?: Record<string, unknown> }[] = [];
  let touches = 0;
  const outputs = {
    async write(output: string, on: boolean) {
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
    log: { info() {}, warn() {}, error() {} },
    touch: () => void touches++,
    changed() {},
  };
  return { ctx, writes, events, touches: () => touches, eventTypes: () => events.map((e) => e.type) };
}
