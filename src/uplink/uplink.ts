// The cloud uplink as the gateway sees it: hand it every message the gateway publishes (send) and
// every local client message (forward); it commits them to the outbox (group commit), and its
// link drains the outbox to the cloud broker and brings cloud commands back.

import { readFile } from 'node:fs/promises';
import { topicMatches } from '../mqtt-topic.js';
import type { CommandResult } from '../commands/result.js';
import type { UplinkConfig } from '../config.js';
import { classifyTopic, GATEWAY_KIND, topics } from '../topics.js';
import { CommandAllowList } from './allow-list.js';
import { uplinkUrls } from './config.js';
import { CloudLink, type CloudCommandMessage, type LinkLogger, type LinkMessage, type LinkState, type UplinkProtocol } from './cloud-link.js';
import { UplinkError } from './errors.js';
import { messageClass } from './message-class.js';
import { hex } from './mqtt5.js';
import { MESSAGE_CLASSES, type Outbox, type OverflowReport } from './outbox.js';
import { OutboxWriter, type OutboxWriterOptions } from './outbox-writer.js';
import { responseTopicProblem } from './response-topic.js';

export type { LinkMessage } from './cloud-link.js';

export interface CloudCommand {
  kind: string;
  device: string;
  command: string;
  payload: Buffer;
  /** The allow-list (`uplink.allow_commands`) lets the cloud send this command. */
  authorized: boolean;
  clientId: string;
  delivery?: { clientId: string; messageId: number; dup: boolean };
  /** MQTT 5: when what was left of its Message Expiry Interval on arrival runs out, epoch ms. */
  expiresAt?: number;
  /** Set when the delivery itself is unusable (a refused Response Topic): the command is refused `bad_request`. */
  deliveryProblem?: string;
}

export interface UplinkDeps {
  config: Readonly<UplinkConfig>;
  site: string;
  gatewayId: string;
  /** The gateway's session number: a user property of every message under MQTT 5. */
  session: number;
  outbox: Outbox;
  /** When the outbox commits without syncing (see OutboxWriter): the sync that makes its commits durable. */
  afterSync?: OutboxWriterOptions['afterSync'];
  /**
   * The current retained picture, in order: gateway availability `online`, gateway state, then
   * each device's state and availability. Published first on every connection (the birth).
   */
  retainedPicture(): LinkMessage[];
  /** Subscribed on the cloud broker: one per kind and command (topics.ts commandFilters). */
  commandFilters: string[];
  /** Resolves with the command's one result; under MQTT 5 it also answers the command's Response Topic. */
  onCommand(command: CloudCommand): Promise<CommandResult> | void;
  log: LinkLogger;
  /** Every how often the outbox figures are logged while it holds messages (default 60 s). */
  statsLogIntervalMs?: number;
}

/** The `outbox` and `uplink` members of the gateway state. */
export interface UplinkStateFields {
  outbox: {
    depth: number;
    bytes: number;
    oldest_age_s: number | null;
    in_flight: number;
    dropped: number;
    dropped_by_class: Record<string, number>;
    unstored: number;
    /** Deleted unsent: the broker refused them with a PUBACK reason code >= 0x80 (MQTT 5). */
    refused: number;
    /** Deleted unsent: larger than the broker's Maximum Packet Size (MQTT 5). */
    too_large: number;
    sent_per_s: number;
  };
  uplink: {
    state: LinkState;
    connection: number;
    connected_since: number | null;
    last_error: string | null;
    protocol: UplinkProtocol;
    /** What the broker's CONNACK limits on this connection (MQTT 5); null while not connected or under 3.1.1. */
    broker_limits: { receive_maximum: number | null; maximum_packet_size: number | null } | null;
    /** The last refusal or DISCONNECT reason code from the broker (CONNACK, SUBACK, PUBACK, DISCONNECT). */
    last_reason: { packet: string; reason_code: string; reason: string; detail?: string; topic?: string; at: number } | null;
    /** The broker node connected to, or tried next (its URL; URLs never carry credentials); null before the start. */
    node: string | null;
    /** How many nodes `uplink.url` lists (1 for one broker). */
    nodes: number;
    /** QoS of the command subscriptions: 1, or 0 on a node that closed the connection on a QoS 1 SUBSCRIBE (RabbitMQ 3.10 after a failover). */
    command_qos: 0 | 1;
  };
}

const STATS_LOG_INTERVAL_MS = 60_000;

async function readConfigFile(path: string, key: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new UplinkError('UPLINK_FILE_UNREADABLE', `${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

export class Uplink {
  private readonly writer: OutboxWriter;
  private readonly allowList: CommandAllowList;
  private link: CloudLink | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  /** Messages lost to storage failures, announced in the next outbox_overflow event. */
  private unstoredToReport = 0;

  constructor(private readonly deps: UplinkDeps) {
    this.writer = new OutboxWriter(deps.outbox, deps.log, { onCommitted: () => this.link?.notify(), ...(deps.afterSync ? { afterSync: deps.afterSync } : {}) });
    this.allowList = new CommandAllowList(deps.config.allow_commands);
  }

  async start(): Promise<void> {
    const { config, log } = this.deps;
    const password = config.password_file
      ? (await readConfigFile(config.password_file, 'uplink.password_file')).toString('utf8').replace(/\r?\n$/, '')
      : config.password;
    const tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
    for (const key of ['ca', 'cert', 'key'] as const) {
      if (config.tls[key]) tls[key] = await readConfigFile(config.tls[key], `uplink.tls.${key}`);
    }
    this.link = new CloudLink(
      {
        url: uplinkUrls(config.url),
        protocol: config.protocol,
        userProperties: { gateway: this.deps.gatewayId, session: String(this.deps.session) },
        clientId: config.client_id,
        ...(config.username ? { username: config.username } : {}),
        ...(password ? { password: Buffer.from(password, 'utf8') } : {}),
        tls,
        keepaliveS: config.keepalive_s,
        connectTimeoutMs: config.connect_timeout_ms,
        will: { topic: topics.gatewayAvailability(this.deps.site, this.deps.gatewayId), payload: 'offline' },
        subscriptions: this.deps.commandFilters,
        inflight: config.inflight,
        backoff: { initialMs: config.backoff.initial_ms, maxMs: config.backoff.max_ms },
      },
      this.deps.outbox,
      {
        birth: () => this.birth(),
        onCommand: (m) => this.onCloudCommand(m),
        onStateChange: (state, detail) => this.onStateChange(state, detail.error),
      },
      log,
    );
    this.link.start();
    this.statsTimer = setInterval(() => this.logStats(), this.deps.statsLogIntervalMs ?? STATS_LOG_INTERVAL_MS);
    this.statsTimer.unref();
  }

  /** A message the gateway publishes: to the cloud with the same topic and retain flag, at QoS 1. */
  /** Into the outbox with the next group commit; the promise settles once that commit has ended (never rejects). */
  send(topic: string, payload: string | Buffer, retain: boolean): Promise<void> {
    const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    return this.writer.enqueue({ topic, payload: bytes, class: messageClass(this.deps.site, topic, bytes, retain), createdAt: Date.now() });
  }

  /**
   * A message a local client published: sent up when a forward filter matches it. Commands are
   * consumed by the gateway and reserved topics are the gateway's own (already sent), so only
   * ordinary topics qualify; none of them can match our command subscriptions, so nothing
   * forwarded comes back down. Returns the commit's promise when the message was taken, so the
   * client's acknowledgement can wait for it; undefined when no forward filter wants it.
   */
  forward(topic: string, payload: Buffer, retain: boolean): Promise<void> | undefined {
    const filters = this.deps.config.forward;
    if (filters.length === 0 || !filters.some((f) => topicMatches(f, topic))) return undefined;
    if (classifyTopic(this.deps.site, topic).type !== 'other') return undefined;
    return this.send(topic, payload, retain);
  }

  /** Commits what is queued, waits up to `uplink.flush_on_stop_ms` for the outbox to drain, then disconnects. */
  async stop(): Promise<void> {
    clearInterval(this.statsTimer);
    this.writer.flush();
    if (!this.link) return;
    const { drained } = await this.link.stop(this.deps.config.flush_on_stop_ms);
    const stats = this.stateFields().outbox;
    if (drained) this.deps.log.info({ outbox: stats }, 'cloud link closed; outbox drained');
    else this.deps.log.warn({ outbox: stats }, 'cloud link closed with messages still in the outbox; they are sent after the next start');
  }

  stateFields(): UplinkStateFields {
    const writer = this.writer.stats();
    const link = this.link?.stats();
    let outbox: ReturnType<Outbox['stats']> | undefined;
    try {
      outbox = this.deps.outbox.stats();
    } catch {
      outbox = undefined;
    }
    const dropped = outbox ? MESSAGE_CLASSES.reduce((sum, c) => sum + outbox.dropped[c], 0) : 0;
    return {
      outbox: {
        depth: (outbox?.depth ?? 0) + writer.queued,
        bytes: outbox?.bytes ?? 0,
        oldest_age_s: outbox?.oldestAt !== undefined ? Math.max(0, Math.round((Date.now() - outbox.oldestAt) / 1000)) : null,
        in_flight: outbox?.inFlight ?? 0,
        dropped,
        dropped_by_class: outbox ? { ...outbox.dropped } : {},
        unstored: writer.unstored,
        refused: link?.refused ?? 0,
        too_large: link?.tooLarge ?? 0,
        sent_per_s: link?.sentPerSecond ?? 0,
      },
      uplink: {
        state: link?.state ?? 'stopped',
        connection: link?.connections ?? 0,
        connected_since: link?.connectedSince ?? null,
        last_error: link?.lastError ?? writer.lastError?.message ?? null,
        protocol: this.deps.config.protocol,
        broker_limits: link?.brokerLimits
          ? { receive_maximum: link.brokerLimits.receiveMaximum ?? null, maximum_packet_size: link.brokerLimits.maximumPacketSize ?? null }
          : null,
        last_reason: link?.lastReason
          ? {
              packet: link.lastReason.packet,
              reason_code: hex(link.lastReason.code),
              reason: link.lastReason.reason,
              ...(link.lastReason.detail !== undefined ? { detail: link.lastReason.detail } : {}),
              ...(link.lastReason.topic !== undefined ? { topic: link.lastReason.topic } : {}),
              at: link.lastReason.at,
            }
          : null,
        node: link?.node ?? null,
        nodes: link?.nodes ?? uplinkUrls(this.deps.config.url).length,
        command_qos: link?.commandQos ?? 1,
      },
    };
  }

  private birth(): LinkMessage[] {
    const { log, outbox, site, gatewayId } = this.deps;
    const picture = this.deps.retainedPicture();
    // The picture holds the newest value of these topics: older pending rows would only repeat
    // them, or worse, arrive after them.
    try {
      outbox.supersedeRetained(picture.map((m) => m.topic));
    } catch (err) {
      log.error({ err: (err as Error).message }, 'outbox supersede failed');
    }
    const messages = [...picture];
    let report: OverflowReport | undefined;
    try {
      report = outbox.overflow();
    } catch {
      report = undefined;
    }
    this.unstoredToReport += this.writer.takeUnstored();
    const unstored = this.unstoredToReport;
    if (report || unstored > 0) {
      const event = {
        event: 'outbox_overflow',
        kind: GATEWAY_KIND,
        device: gatewayId,
        at: Date.now(),
        dropped: report?.total ?? 0,
        dropped_by_class: report?.byClass ?? {},
        first_dropped_at: report?.firstAt ?? null,
        last_dropped_at: report?.lastAt ?? null,
        unstored,
      };
      log.warn(event, 'outbox overflowed while the cloud was unreachable; announcing it');
      const topic = topics.event(site, GATEWAY_KIND, gatewayId);
      const payload = JSON.stringify(event);
      messages.push({
        topic,
        payload,
        retain: false,
        class: messageClass(site, topic, Buffer.from(payload), false),
        onAcked: () => {
          this.unstoredToReport -= unstored;
          try {
            if (report) outbox.overflowReported(report);
          } catch (err) {
            // Announced but not recorded as such: it is announced again on the next connection.
            log.error({ err: (err as Error).message }, 'could not record the overflow announcement');
          }
        },
      });
    }
    return messages;
  }

  private onCloudCommand(m: CloudCommandMessage): void {
    const { site, log } = this.deps;
    const target = classifyTopic(site, m.topic);
    if (target.type !== 'command') {
      log.debug({ topic: m.topic }, 'ignored a cloud message that is not a command topic');
      return;
    }
    const clientId = `cloud:${this.deps.config.client_id}`;
    // The broker already took off the time the message waited there (MQTT 5 section 3.3.2.3.3), so
    // what is left counts from its arrival here; waiting in our device queue uses it up too.
    const expiresAt = m.expiryIntervalS !== undefined ? m.receivedAt + m.expiryIntervalS * 1000 : undefined;
    const problem = m.responseTopic !== undefined ? responseTopicProblem(site, m.responseTopic) : undefined;
    if (problem) log.warn({ topic: m.topic, response_topic: m.responseTopic, problem }, 'cloud command names a response topic gatehouse will not publish to; refused');
    const outcome = this.deps.onCommand({
      kind: target.kind,
      device: target.device,
      command: target.command,
      payload: m.payload,
      authorized: this.allowList.allows(target.kind, target.command),
      clientId,
      ...(m.messageId !== undefined ? { delivery: { clientId, messageId: m.messageId, dup: m.dup } } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      ...(problem ? { deliveryProblem: `response topic ${JSON.stringify(m.responseTopic)} refused: ${problem}` } : {}),
    });
    const responseTopic = m.responseTopic;
    if (responseTopic === undefined || problem || !outcome) return;
    // MQTT 5 section 4.10: the result, with the request's Correlation Data, to its Response Topic
    // (as well as to the result topic, through the outbox).
    void outcome.then(
      (result) =>
        this.link?.respond({
          topic: responseTopic,
          payload: JSON.stringify(result),
          retain: false,
          class: 'result',
          ...(m.correlationData ? { correlationData: m.correlationData } : {}),
        }),
      (err: unknown) => log.error({ err: String(err), topic: m.topic }, 'no result to answer the response topic with'),
    );
  }

  private onStateChange(state: LinkState, error: string | undefined): void {
    if (state === 'up') this.deps.log.info(this.stateFields(), 'cloud link up; draining the outbox');
    else if (state === 'waiting') this.deps.log.debug({ err: error }, 'cloud link waiting to reconnect');
  }

  private logStats(): void {
    const fields = this.stateFields();
    if (fields.outbox.depth > 0 || fields.outbox.unstored > 0) this.deps.log.info(fields, 'outbox');
  }
}
