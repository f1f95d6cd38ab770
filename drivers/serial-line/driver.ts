// A device speaking text lines: outputs are lines sent (checked against ok/error patterns), inputs
// come from the named groups of a poll reply, unsolicited lines matching a pattern become events.
import {
  DeviceError,
  type DriverContext,
  type DriverInstance,
  type DriverLogger,
  type Readings,
  type RequestOptions,
  type SerialLineAccess, isAccessOf } from '../../src/driver-api.js';
import type { LinePoll, SerialLineOptions } from './options.js';

export class SerialLineDriverInstance implements DriverInstance {
  readonly outputs: readonly string[];
  readonly inputs: readonly string[];
  /** Unsolicited lines that matched no event pattern, for diagnostics. */
  unmatchedLines = 0;
  private readonly line: SerialLineAccess;
  private readonly options: SerialLineOptions;
  private readonly log: DriverLogger;
  private readonly emitEvent: ((type: string, details: Record<string, unknown>) => void) | undefined;

  constructor(ctx: DriverContext<SerialLineOptions>) {
    const transport = ctx.transport;
    if (!isAccessOf<SerialLineAccess>(transport, 'serial-line')) {
      throw new Error(`device ${ctx.deviceId}: the serial-line driver needs a serial-line transport, got ${transport.kind}`);
    }
    this.line = transport;
    this.options = ctx.options;
    this.log = ctx.log;
    this.emitEvent = ctx.emitEvent;
    this.outputs = Object.keys(ctx.options.outputs);
    this.inputs = ctx.options.poll === undefined ? [] : inputNames(ctx.options.poll);
    // Listening costs no I/O; the subscription lives as long as the transport.
    this.line.onUnsolicited((text) => this.unsolicited(text));
  }

  async write(output: string, on: boolean, opts: RequestOptions): Promise<void> {
    const point = this.options.outputs[output];
    if (point === undefined) {
      throw new DeviceError('device_error', `no output "${output}" configured; outputs: ${this.outputs.join(', ') || 'none'}`, { notApplied: true });
    }
    const sent = fillTemplate(on ? point.on : point.off, opts.args ?? {}, output);
    const reply = await this.line.request(sent, (text) => this.isReply(text), opts);
    if (point.ok.test(reply)) return;
    const refused = point.error?.exec(reply);
    if (refused) {
      const reason = refused.groups?.reason ?? reply;
      throw new DeviceError('device_error', `device refused ${JSON.stringify(sent)}: ${reason}`, { notApplied: true });
    }
    throw new DeviceError('device_error', `unexpected reply ${JSON.stringify(reply)} to ${JSON.stringify(sent)}`);
  }

  async read(opts: RequestOptions): Promise<Readings> {
    const poll = this.options.poll;
    if (poll === undefined) return {};
    const reply = await this.line.request(poll.send, (text) => this.isReply(text), opts);
    const match = poll.reply.exec(reply);
    if (match === null) throw new DeviceError('device_error', `unexpected reply ${JSON.stringify(reply)} to ${JSON.stringify(poll.send)}`);
    const readings: Readings = {};
    for (const [name, text] of Object.entries(match.groups ?? {})) {
      if (text === undefined) continue;
      const mapped = poll.values[name]?.[text];
      if (mapped !== undefined) readings[name] = mapped;
      else if (/^\d+$/.test(text)) readings[name] = Number(text);
      else throw new DeviceError('device_error', `input ${name}: cannot read ${JSON.stringify(text)} as a value (map it under poll.values.${name})`);
    }
    return readings;
  }

  /**
   * While a request waits, any line that is not an event report answers it: a reply matching no
   * pattern must fail the request (device_error), never leave it hanging until the timeout.
   */
  private isReply(text: string): boolean {
    return !this.options.events.some(({ pattern }) => pattern.test(text));
  }

  private unsolicited(text: string): void {
    for (const { pattern, event } of this.options.events) {
      const match = pattern.exec(text);
      if (match === null) continue;
      this.emitEvent?.(event, { ...match.groups });
      return;
    }
    this.unmatchedLines++;
    this.log.debug({ line: text, unmatched: this.unmatchedLines }, 'serial-line: unsolicited line matched no event pattern');
  }
}

function inputNames(poll: LinePoll): string[] {
  return [...poll.reply.source.matchAll(/\(\?<([A-Za-z_$][\w$]*)>/g)].map((m) => m[1]);
}

/**
 * `{name}` in a line is replaced by that argument of the command behind the write, e.g.
 * `"OPEN {duration_ms}"` or `"PASS {direction}"`. A placeholder with no such argument (a write
 * no command asked for, like the end of a pulse) is an error that sends nothing.
 */
export function fillTemplate(template: string, args: Readonly<Record<string, string | number>>, output: string): string {
  return template.replace(/\{([a-z_]+)\}/g, (_, name: string) => {
    const value = args[name];
    if (value === undefined) {
      throw new DeviceError('device_error', `output ${output}: the line ${JSON.stringify(template)} needs {${name}}, which this write does not carry`, { notApplied: true });
    }
    return String(value);
  });
}
