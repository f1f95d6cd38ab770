import { randomUUID } from 'node:crypto';
import { DeviceError } from '../driver-api.js';
import type { FieldValues } from '../config/fields.js';
import type { KindDefinition } from '../devices/kinds/types.js';
import { immediateCommit, type Commit } from './commit.js';
import { DeliveryIds } from './delivery-ids.js';
import { DeviceQueue } from './device-queue.js';
import { parseEnvelope, type CommandEnvelope } from './envelope.js';
import { checkClock, checkExpiry, type ExpiryPolicy } from './expiry.js';
import { payloadForJournal, type Journal, type JournalEntry } from './journal.js';
import { ledgerScope, type CommandLedger } from './ledger.js';
import { COMMAND_SOURCES, CommandRejection, type CommandResult, type CommandSource, type CommandTrigger, type ResultCode } from './result.js';
import { deviceKey, parseDeviceKey } from '../topics.js';

// The one path every command takes, whatever its source (DESIGN.md sections 2 and 3):
// authorize, parse, find device and command, validate arguments, de-duplicate, check expiry,
// check availability, queue per device, run with a timeout, publish exactly one terminal result,
// journal it. Nothing that fails a check reaches hardware.

export interface CommandInput {
  kind: string;
  device: string;
  command: string;
  payload: Uint8Array;
  source: CommandSource;
  /**
   * The sender's ACL allows this command topic (or, for the cloud, its allow-list does; a link is
   * authorized by the config that declares it).
   */
  authorized: boolean;
  /** The device event behind a command of source `link`; carried into its result. */
  trigger?: CommandTrigger;
  clientId?: string;
  username?: string;
  peer?: string;
  /** MQTT delivery identity; lets a QoS 1 retransmission (DUP=1) of a command without `id` be recognised. */
  delivery?: { clientId: string; messageId: number; dup: boolean };
  /** A deadline from the carrier (e.g. MQTT 5 message expiry), epoch ms: refused `expired` once passed. */
  expiresAt?: number;
  /** The carrier found the delivery unusable (e.g. a forbidden MQTT 5 response topic): refused `bad_request`. */
  deliveryProblem?: string;
}

/** What the pipeline needs of a device. */
export interface CommandTarget {
  readonly id: string;
  readonly kind: KindDefinition;
  readonly availability: 'online' | 'offline';
  readonly config: { command_timeout_ms: number };
  parseArgs(command: string, args: Record<string, unknown>): { values: FieldValues; problems: { key: string; message: string }[] };
  execute(command: string, args: FieldValues, signal: AbortSignal): Promise<Record<string, unknown>>;
}

export interface PipelineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface PipelineDeps {
  findDevice(kind: string, id: string): CommandTarget | undefined;
  /** Every device id with its kind, for messages that help a caller find the right topic. */
  describeDevice(id: string): string | undefined;
  ledger: CommandLedger;
  journal: Journal;
  /** Makes ledger and journal writes durable; defaults to immediate (in-memory stores). */
  commit?: Commit;
  publishResult(result: CommandResult): void;
  policy: ExpiryPolicy & { queueLimit: number };
  log: PipelineLogger;
  now?: () => number;
}

/** How a command ended: its data, or a coded error (which may carry data too). */
type Outcome = { data: Record<string, unknown> } | { code: ResultCode; message: string; data?: Record<string, unknown> };

interface Accepted {
  input: CommandInput;
  envelope: CommandEnvelope;
  id: string;
  target: CommandTarget;
  args: FieldValues;
  receivedAt: number;
}

export class CommandPipeline {
  private readonly queues = new Map<string, DeviceQueue>();
  /** Results not yet known, by ledger key, so a duplicate arriving meanwhile can wait for the first. */
  private readonly inFlight = new Map<string, Promise<CommandResult>>();
  private readonly deliveryIds = new DeliveryIds();
  private readonly now: () => number;
  private readonly commit: Commit;
  private closed = false;
  private policy: PipelineDeps['policy'];
  /** Work run in a device's queue beside the commands (runWhenIdle), waited for by close(). */
  private readonly exclusiveRuns = new Set<Promise<unknown>>();

  constructor(private readonly deps: PipelineDeps) {
    this.now = deps.now ?? Date.now;
    this.commit = deps.commit ?? immediateCommit;
    this.policy = deps.policy;
  }

  /** A reload's command settings: every check from now on uses them, for commands already queued too. */
  setPolicy(policy: PipelineDeps['policy']): void {
    this.policy = policy;
  }

  /** Take a command in. Never throws; resolves with the terminal result that was published. */
  async submit(input: CommandInput): Promise<CommandResult> {
    const receivedAt = this.now();
    const parsed = parseEnvelope(input.payload);
    const providedId = parsed.ok ? parsed.envelope.id : parsed.id;
    const id = providedId ?? this.deliveryIds.idFor(input.delivery) ?? randomUUID();
    if (!providedId) this.deliveryIds.remember(input.delivery, id);
    const reject = (code: ResultCode, message: string) => this.reject(input, id, receivedAt, code, message);

    if (this.closed) return reject('offline', 'gatehouse is stopping; send the command again once it is back online');
    if (!input.authorized) {
      return reject('forbidden', `${input.username ? `user ${JSON.stringify(input.username)}` : 'this client'} may not send ${input.command} to ${input.kind}/${input.device}`);
    }
    if (input.deliveryProblem) return reject('bad_request', input.deliveryProblem);
    if (!parsed.ok) return reject('bad_request', parsed.message);
    const target = this.deps.findDevice(input.kind, input.device);
    if (!target) {
      const actually = this.deps.describeDevice(input.device);
      return reject('unknown_device', actually ? `no ${input.kind} named ${input.device}; ${input.device} is a ${actually}` : `no ${input.kind} named ${input.device}`);
    }
    const definition = Object.hasOwn(target.kind.commands, input.command) ? target.kind.commands[input.command] : undefined;
    if (!definition) {
      return reject('unknown_command', `a ${input.kind} has no command ${input.command} (known: ${Object.keys(target.kind.commands).join(', ')})`);
    }
    const { values, problems } = target.parseArgs(input.command, parsed.envelope.args);
    if (problems.length > 0) return reject('bad_request', problems.map((p) => `${p.key} ${p.message}`).join('; '));
    try {
      checkClock(parsed.envelope, receivedAt, this.policy);
    } catch (err) {
      return reject('bad_request', (err as Error).message);
    }

    const scope = ledgerScope(input.kind, input.device);
    const key = `${scope}\u0000${id}`;
    // The claim is on disk before anything can reach the hardware: after a crash or power cut a
    // redelivered command finds its id and is not run a second time.
    let earlier;
    try {
      earlier = await this.commit(() =>
        this.deps.ledger.claim(scope, id, receivedAt, {
          command: input.command,
          source: input.source,
          client_id: input.clientId,
          username: input.username,
        }),
      );
    } catch (err) {
      this.deps.log.warn({ err: String(err), id }, 'could not record a command id');
      return reject('device_error', `could not record the command (storage error: ${(err as Error).message}); not executed`);
    }
    if (earlier) return this.resendDuplicate(input, key, receivedAt, earlier.result);

    const accepted: Accepted = { input, envelope: parsed.envelope, id, target, args: values, receivedAt };
    const result = this.accept(accepted);
    this.inFlight.set(key, result);
    try {
      return await result;
    } finally {
      this.inFlight.delete(key);
    }
  }

  /** Accepted commands: expiry, availability, queue, run with a timeout. Resolves with the one terminal result. */
  private accept(a: Accepted): Promise<CommandResult> {
    return new Promise<CommandResult>((resolve) => {
      let finished = false;
      let startedAt: number | undefined;
      let timer: NodeJS.Timeout | undefined;
      const controller = new AbortController();
      const finish = (outcome: Outcome) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        const result = this.buildResult(a.input, a.id, a.receivedAt, outcome, startedAt);
        // Queued before anything else can ask for this id, so a later duplicate finds the result.
        // The result goes out once its completion and journal row are on disk: a kill or a power cut
        // after a client saw it cannot turn it into a second, "interrupted" result at the next start.
        // Two writes of the same group commit, each in its own savepoint: a journal row refused
        // does not take the ledger's completion with it.
        const entry = this.journalEntry(a.input, result);
        const completed = this.commit(() => this.deps.ledger.complete(ledgerScope(a.input.kind, a.input.device), a.id, result));
        const journaled = this.commit(() => this.deps.journal.append(entry));
        void Promise.allSettled([completed, journaled]).then(([completion, row]) => {
          if (completion.status === 'rejected') this.deps.log.warn({ err: String(completion.reason), id: a.id }, 'could not record a command result');
          if (row.status === 'rejected') this.deps.log.warn({ err: String(row.reason) }, 'could not write to the command journal');
          this.publishAndLog(a.input, result);
          resolve(result);
        });
      };
      const fail = (err: unknown) => finish(toRejection(err));

      try {
        checkExpiry(a.envelope, a.receivedAt, this.now(), this.policy, a.input.expiresAt);
        if (a.target.availability === 'offline') throw new CommandRejection('offline', `${a.input.kind} ${a.target.id} is offline`);
      } catch (err) {
        return fail(err);
      }
      const queue = this.queueFor(a.input.kind, a.target.id);
      if (queue.depth >= this.policy.queueLimit) {
        return finish({ code: 'busy', message: `${queue.depth} commands already queued for ${a.target.id}; try again later` });
      }

      const timeoutMs = a.target.config.command_timeout_ms;
      timer = setTimeout(() => {
        const waiting = ticket.cancel();
        controller.abort();
        finish({
          code: 'timeout',
          message: waiting
            ? `waited ${timeoutMs} ms behind other commands for ${a.target.id} without starting; not executed`
            : `${a.target.id} did not finish within ${timeoutMs} ms; the outcome is unknown`,
        });
      }, timeoutMs);

      const ticket = queue.push(async () => {
        if (finished) return;
        try {
          checkExpiry(a.envelope, a.receivedAt, this.now(), this.policy, a.input.expiresAt);
        } catch (err) {
          return fail(err);
        }
        startedAt = this.now();
        try {
          const data = await a.target.execute(a.input.command, a.args, controller.signal);
          finish({ data });
        } catch (err) {
          if (finished) this.deps.log.debug({ id: a.id, err: String(err) }, 'command settled after its timeout');
          fail(err);
        }
      });
    });
  }

  /** Refuse new commands (with `offline`) and wait until every accepted one has its result. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight.values(), ...this.exclusiveRuns]);
  }

  /**
   * Runs `work` in the device's command queue when nothing is queued or running there (commissioning,
   * src/commissioning/): it never interleaves with a command, commands arriving meanwhile wait behind
   * it, and close() waits for it. Refused, with nothing run, when the device is busy or gatehouse stops.
   */
  runWhenIdle<T>(kind: string, device: string, work: () => Promise<T>): { run: Promise<T> } | { refused: 'busy' | 'stopping'; message: string } {
    if (this.closed) return { refused: 'stopping', message: 'gatehouse is stopping' };
    const queue = this.queueFor(kind, device);
    if (queue.depth > 0) return { refused: 'busy', message: `${device} is busy: ${queue.depth} command${queue.depth === 1 ? '' : 's'} running or queued` };
    const run = new Promise<T>((resolve, reject) => {
      queue.push(() => work().then(resolve, reject));
    });
    this.exclusiveRuns.add(run);
    void run.then(
      () => this.exclusiveRuns.delete(run),
      () => this.exclusiveRuns.delete(run),
    );
    return { run };
  }

  /** `receivedAt`: when this copy arrived; its journal entry has that time, the result it gets is the first one's. */
  private async resendDuplicate(input: CommandInput, key: string, receivedAt: number, result: CommandResult | undefined): Promise<CommandResult> {
    const first = result ?? (await this.inFlight.get(key));
    const duplicate: CommandResult = first
      ? { ...first, duplicate: true }
      : this.buildResult(input, key.split('\u0000')[1], receivedAt, {
          code: 'device_error',
          message: 'a command with this id was interrupted by a gateway restart; its outcome is unknown and it is not run again',
        });
    duplicate.duplicate = true;
    this.publishAndJournal(input, duplicate, { receivedAt });
    return duplicate;
  }

  private reject(input: CommandInput, id: string, receivedAt: number, code: ResultCode, message: string): Promise<CommandResult> {
    const result = this.buildResult(input, id, receivedAt, { code, message });
    this.publishAndJournal(input, result);
    return Promise.resolve(result);
  }

  private buildResult(
    input: CommandInput,
    id: string,
    receivedAt: number,
    outcome: Outcome,
    startedAt?: number,
  ): CommandResult {
    const finishedAt = this.now();
    const timing: CommandResult['timing'] = { received_at: receivedAt, finished_at: finishedAt, total_ms: finishedAt - receivedAt };
    if (startedAt !== undefined) {
      Object.assign(timing, { started_at: startedAt, queued_ms: startedAt - receivedAt, run_ms: finishedAt - startedAt });
    }
    const where = { source: input.source, kind: input.kind, device: input.device, ...(input.trigger ? { trigger: input.trigger } : {}) };
    if (!('code' in outcome)) {
      return { id, command: input.command, status: 'ok', message: `${input.command} done`, ...where, data: outcome.data, timing };
    }
    return { id, command: input.command, status: 'error', code: outcome.code, message: outcome.message, ...where, ...(outcome.data ? { data: outcome.data } : {}), timing };
  }

  /** `duplicate`: the result answers a repeated id that arrived at `receivedAt`. */
  private publishAndJournal(input: CommandInput, result: CommandResult, duplicate?: { receivedAt: number }): void {
    const entry = this.journalEntry(input, result, duplicate);
    this.publishAndLog(input, result, duplicate);
    this.record(() => this.deps.journal.append(entry));
  }

  private publishAndLog(input: CommandInput, result: CommandResult, duplicate?: { receivedAt: number }): void {
    this.deps.publishResult(result);
    const log = { id: result.id, device: input.device, command: input.command, source: input.source, code: result.code, ms: result.timing.total_ms };
    if (result.status === 'ok' && !duplicate) this.deps.log.info(log, 'command done');
    else this.deps.log.warn({ ...log, duplicate: Boolean(duplicate), message: result.message }, duplicate ? 'duplicate command answered' : 'command rejected');
  }

  /**
   * A command's entry is dated when its result was known; a duplicate's when it arrived (the result
   * it carries is the first one's, with the first one's timing), its latency how long it waited for that.
   */
  private journalEntry(input: CommandInput, result: CommandResult, duplicate?: { receivedAt: number }): JournalEntry {
    return {
      at: duplicate ? duplicate.receivedAt : result.timing.finished_at,
      type: 'command',
      kind: input.kind,
      device: input.device,
      command: input.command,
      command_id: result.id,
      source: input.source,
      client_id: input.clientId,
      username: input.username,
      peer: input.peer,
      payload: payloadForJournal(input.payload),
      status: result.status,
      code: result.code,
      message: result.message,
      latency_ms: duplicate ? this.now() - duplicate.receivedAt : result.timing.total_ms,
      duplicate: Boolean(duplicate),
    };
  }

  /**
   * A write whose durability nobody waits for: a result is published as soon as it is known. If
   * the write is lost (power cut in the same few milliseconds, disk full), the claim is still on
   * disk and the next start records the command as interrupted, so the journal never loses it.
   */
  private record(write: () => void): void {
    this.commit(write).catch((err) => this.deps.log.warn({ err: String(err) }, 'could not write to the command journal'));
  }

  private queueFor(kind: string, device: string): DeviceQueue {
    const key = deviceKey(kind, device);
    let queue = this.queues.get(key);
    if (!queue) this.queues.set(key, (queue = new DeviceQueue()));
    return queue;
  }

  /**
   * Commands claimed before a crash or kill never got a result. Give each its one terminal result
   * now ("outcome unknown"), durably journaled before it is published; never run them again.
   */
  async recoverInterrupted(): Promise<CommandResult[]> {
    const results: CommandResult[] = [];
    for (const record of this.deps.ledger.unfinished()) {
      const { kind, device } = parseDeviceKey(record.scope);
      const input: CommandInput = {
        kind,
        device,
        command: record.input.command,
        payload: new Uint8Array(),
        source: (COMMAND_SOURCES as readonly string[]).includes(record.input.source) ? (record.input.source as CommandSource) : 'local',
        authorized: true,
        clientId: record.input.client_id,
        username: record.input.username,
      };
      const result = this.buildResult(input, record.id, record.createdAt, {
        code: 'device_error',
        message: 'the gateway stopped while this command was pending; its outcome is unknown and it is not run again',
      });
      await this.commit(() => {
        this.deps.ledger.complete(record.scope, record.id, result);
        this.deps.journal.append(this.journalEntry(input, result));
      });
      this.deps.publishResult(result);
      this.deps.log.warn({ id: record.id, device, command: input.command }, 'command interrupted by the previous stop answered: outcome unknown');
      results.push(result);
    }
    return results;
  }
}

function toRejection(err: unknown): { code: ResultCode; message: string; data?: Record<string, unknown> } {
  if (err instanceof CommandRejection) return { code: err.code, message: err.message, ...(err.data ? { data: err.data } : {}) };
  if (err instanceof DeviceError) return { code: err.code, message: err.message };
  return { code: 'device_error', message: err instanceof Error ? err.message : String(err) };
}
