// A kind from capability pieces: the definition (points, settings, checks, events, state, safe
// state, actions) is the union of its pieces', and each command is defined once, with its argument
// schema and its run function over the device's running pieces.
import type { Readings } from '../../driver-api.js';
import type { FieldProblem, FieldSpecs, FieldValues } from '../../config/fields.js';
import type { Behaviour, BehaviourContext, CommandDefinition, KindDefinition, SectionDefinition } from '../kinds/types.js';
import { OutputLane } from './output-lane.js';
import type { Piece, PieceContext, PieceRuntime, PiecePoints, RuntimeOf } from './piece.js';

type Pieces = Record<string, Piece<PieceRuntime, never>>;
export type Parts<P extends Pieces> = { [K in keyof P]: RuntimeOf<P[K]> };

export interface Command<Running> extends Omit<CommandDefinition, 'run'> {
  run(parts: Running, args: FieldValues, signal: AbortSignal): Promise<Record<string, unknown>>;
}

export interface KindSpec<P extends Pieces> {
  name: string;
  description: string;
  /** Created, made safe, fed readings and stopped in this order. */
  pieces: P;
  commands: Record<string, Command<Parts<P>>>;
  /** Cross-field checks beyond the pieces' own. */
  check?(settings: FieldValues): FieldProblem[];
  /**
   * The published order of the state's fields, where it is not the pieces' order: these come in
   * this order after the fields it does not name (a camera's facts), and updated_at comes last.
   */
  stateOrder?: readonly string[];
}

const UPDATED_AT_DOC = 'When the device state last changed, epoch ms.';

export function defineKind<P extends Pieces>(spec: KindSpec<P>): KindDefinition {
  const pieces: Piece<PieceRuntime, never>[] = Object.values(spec.pieces);
  const union = <T>(what: string, pick: (p: Piece<PieceRuntime, never>) => Record<string, T> | undefined): Record<string, T> => {
    const merged: Record<string, T> = {};
    for (const piece of pieces) {
      for (const [key, value] of Object.entries(pick(piece) ?? {})) {
        if (Object.hasOwn(merged, key)) throw new Error(`kind ${spec.name}: two pieces declare the ${what} ${key}`);
        merged[key] = value;
      }
    }
    return merged;
  };
  const points = (side: 'outputs' | 'inputs', which: keyof PiecePoints) => pieces.flatMap((p) => p[side]?.[which] ?? []);
  const eventDocs = union('event', (p) => p.events);
  const sections = union<SectionDefinition>('config section', (p) => p.sections);
  const actions = [...new Set(pieces.flatMap((p) => p.actions ?? []))];
  const checks = [...pieces.map((p) => p.check), spec.check].filter((c) => c !== undefined);
  return {
    name: spec.name,
    description: spec.description,
    points: {
      outputs: { required: points('outputs', 'required'), optional: points('outputs', 'optional') },
      inputs: { required: points('inputs', 'required'), optional: points('inputs', 'optional') },
    },
    settings: union<FieldSpecs[string]>('setting', (p) => p.settings),
    ...(Object.keys(sections).length > 0 ? { sections } : {}),
    check: (settings) => checks.flatMap((check) => check(settings)),
    commands: spec.commands as Record<string, CommandDefinition>,
    ...(actions.length > 0 ? { actions } : {}),
    events: Object.keys(eventDocs),
    eventDocs,
    state: { ...union('state field', (p) => p.state), updated_at: UPDATED_AT_DOC },
    safeState: union('output', (p) => p.safeState),
    createBehaviour: (ctx) => new ComposedBehaviour(spec, ctx),
  };
}

class ComposedBehaviour<P extends Pieces> implements Behaviour {
  private readonly lane: OutputLane;
  private readonly parts = {} as Parts<P>;
  private readonly running: PieceRuntime[] = [];
  private updatedAt = Date.now();

  constructor(
    private readonly spec: KindSpec<P>,
    ctx: BehaviourContext,
  ) {
    this.lane = new OutputLane(ctx.outputs, spec.name);
    const pieceCtx: PieceContext = {
      ...ctx,
      kind: spec.name,
      lane: this.lane,
      touch: () => {
        this.updatedAt = Date.now();
        ctx.sink.stateChanged();
      },
      changed: () => ctx.sink.stateChanged(),
    };
    // Parts reach their siblings through `parts`, filled here before any of them runs.
    for (const [name, piece] of Object.entries(spec.pieces) as [keyof P, P[keyof P]][]) {
      const runtime = piece.create(pieceCtx, this.parts as never) as RuntimeOf<P[keyof P]>;
      this.parts[name] = runtime;
      this.running.push(runtime);
    }
  }

  async applySafeState(): Promise<void> {
    for (const part of this.running) await part.applySafeState?.();
  }

  observe(readings: Readings, readStartedAt: number): void {
    for (const part of this.running) part.observe?.(readings, readStartedAt);
  }

  run(command: string, args: FieldValues, signal: AbortSignal): Promise<Record<string, unknown>> {
    const definition = Object.hasOwn(this.spec.commands, command) ? this.spec.commands[command] : undefined;
    if (definition === undefined) return Promise.reject(new Error(`${this.spec.name} has no command ${command}`));
    return definition.run(this.parts, args, signal);
  }

  snapshot(): Record<string, unknown> {
    const fields: Record<string, unknown> = Object.assign({}, ...this.running.map((part) => part.state?.() ?? {}));
    const order = this.spec.stateOrder ?? [];
    const state: Record<string, unknown> = {};
    for (const key of Object.keys(fields)) if (!order.includes(key)) state[key] = fields[key];
    for (const key of order) if (Object.hasOwn(fields, key)) state[key] = fields[key];
    return { ...state, updated_at: this.updatedAt };
  }

  async stop(): Promise<void> {
    this.lane.stop();
    for (const part of this.running) await part.stop?.();
  }
}
