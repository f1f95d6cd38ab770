// A capability piece: one thing a device does with some of its points (a pulsed output, a contact,
// a counter, a safety loop), as a factory the way zigbee-herdsman-converters builds devices from
// `modernExtend` factories. A piece is data (points, settings, events, state fields, safe state)
// plus `create`, which makes its running part for one device; a kind composes pieces
// (compose.ts) and defines its commands over their running parts.
import type { Readings } from '../../driver-api.js';
import type { FieldProblem, FieldSpecs, FieldValues } from '../../config/fields.js';
import type { BehaviourContext, EventDefinition, SectionDefinition } from '../kinds/types.js';
import type { OutputLane } from './output-lane.js';

export interface PieceContext extends BehaviourContext {
  /** The kind's name, for messages. */
  kind: string;
  /** The device's one output lane, shared by all its pieces. */
  lane: OutputLane;
  /** The hardware changed: updated_at moves on and a state publish is scheduled. */
  touch(): void;
  /** A value in the state changed that is no news of the hardware (a pulse's new end): published, updated_at kept. */
  changed(): void;
}

/** The running part of a piece for one device; each hook is optional. */
export interface PieceRuntime {
  /** Called in piece order before the device is first announced online. */
  applySafeState?(): Promise<void>;
  observe?(readings: Readings, readStartedAt: number): void;
  /** This piece's fields of the device state. */
  state?(): Record<string, unknown>;
  /** Called in piece order once the output lane refuses new work. */
  stop?(): Promise<void>;
}

export interface PiecePoints {
  required?: readonly string[];
  optional?: readonly string[];
}

/**
 * `Parts` is what the piece needs of its siblings (e.g. a door contact asks the lock how long it
 * has been locked): the running parts of the whole kind, by the names the kind gave them.
 */
export interface Piece<Runtime extends PieceRuntime = PieceRuntime, Parts = never> {
  outputs?: PiecePoints;
  inputs?: PiecePoints;
  settings?: FieldSpecs;
  /** Nested config blocks this piece reads (ctx.sections). */
  sections?: Record<string, SectionDefinition>;
  /** Cross-field checks of the settings this piece declares. */
  check?(settings: FieldValues): FieldProblem[];
  events?: Record<string, EventDefinition>;
  /** The state fields this piece produces, with what each says. */
  state?: Record<string, string>;
  /** What the piece does with each of its outputs on start. */
  safeState?: Record<string, string>;
  /** Driver actions the piece performs. */
  actions?: readonly string[];
  create(ctx: PieceContext, parts: Parts): Runtime;
}

/** The running part a piece creates. */
export type RuntimeOf<P> = P extends Piece<infer R, never> ? R : never;
