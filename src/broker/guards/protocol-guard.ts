// A stream between the socket and aedes. Inbound, it lets through only whole packets that pass
// packet-rules.ts, so a violation closes the connection before aedes sees the packet. Outbound, it
// tracks unacknowledged packet identifiers and corrects CONNACK's Session Present flag.
import { Duplex } from 'node:stream';
import { FrameError, FrameSplitter } from './frames.js';
import { OutboundPacketIds, PACKET_ID_SPACE } from './outbound-ids.js';
import { PACKET_PUBACK, PACKET_PUBCOMP, checkClientPacket, type ConnectSummary } from './packet-rules.js';

export interface ProtocolViolation {
  /** The MQTT 3.1.1 conformance statement (e.g. "MQTT-3.1.2-22"), or "limit" for a size limit. */
  clause: string;
  reason: string;
  /** The broker.limits key, for a limit. */
  limit?: string;
  /** The client identifier of a CONNECT refused for its length (cut to a readable length by the logger). */
  clientId?: string;
}

/**
 * MQTT-3.2.2-2: Session Present is 1 when the server already has session state for a
 * CleanSession=0 client; aedes 1.2.0 sets it only when the session has subscriptions. The broker
 * answers from its persistence (persistence/gatehouse-persistence.ts), which knows every persistent
 * session, across restarts too, until a clean-session CONNECT or session expiry ends it.
 */
export interface SessionLookup {
  /** Called once the CONNECT is accepted, before this connection's own session is recorded. */
  accepted(connect: ConnectSummary): boolean;
}

export interface ProtocolGuardOptions {
  /** Largest packet accepted, fixed header included. */
  maxPacketBytes: number;
  /** Longest client identifier accepted, in UTF-8 bytes (broker.limits.max_client_id_length). */
  maxClientIdBytes: number;
  sessions: SessionLookup;
  onViolation(violation: ProtocolViolation): void;
}

const CONNACK_BYTES = 4;
/** MQTT 3.1.1 table 3.1: 0x02, identifier rejected. */
const CONNACK_IDENTIFIER_REJECTED = 2;

/** CONNACK with session present 0 and the given return code (MQTT 3.1.1 section 3.2). */
function connack(returnCode: number): Buffer {
  return Buffer.from([0x20, 0x02, 0x00, returnCode]);
}

export class GuardedConnection extends Duplex {
  private readonly frames: FrameSplitter;
  private readonly outbound = new OutboundPacketIds();
  private violated = false;
  private connect: ConnectSummary | undefined;
  private connackPending: Buffer | null = Buffer.alloc(0);

  constructor(
    private readonly socket: Duplex,
    private readonly options: ProtocolGuardOptions,
  ) {
    super({ allowHalfOpen: false });
    this.frames = new FrameSplitter(options.maxPacketBytes);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  /** True while a QoS 1/2 PUBLISH sent with this packet identifier awaits its PUBACK/PUBCOMP. */
  /** QoS 1/2 packets written to this connection and not yet acknowledged (broker.limits.max_inflight). */
  get outboundInflight(): number {
    return this.outbound.size;
  }

  outboundInUse(packetId: number): boolean {
    return this.outbound.has(packetId);
  }

  private onData(chunk: Buffer): void {
    if (this.violated) return;
    const accepted: Buffer[] = [];
    try {
      for (const frame of this.frames.push(chunk)) {
        const verdict = checkClientPacket(frame);
        if (!verdict.ok) {
          // Valid packets read together with the offending one are dropped as well: the
          // connection is going away, and nothing from aedes may race a CONNACK of ours.
          this.reject({ clause: verdict.clause, reason: verdict.reason }, verdict.connackCode);
          return;
        }
        if (verdict.connect && this.connect === undefined) {
          const tooLong = this.clientIdTooLong(verdict.connect.clientId);
          if (tooLong) {
            this.reject(tooLong, CONNACK_IDENTIFIER_REJECTED);
            return;
          }
          this.connect = verdict.connect;
        }
        if (frame.type === PACKET_PUBACK || frame.type === PACKET_PUBCOMP) this.outbound.release(frame.body.readUInt16BE(0));
        accepted.push(frame.raw);
      }
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.reject({ clause: err.clause, reason: err.message }, undefined);
      return;
    }
    if (accepted.length > 0 && !this.push(accepted.length === 1 ? accepted[0] : Buffer.concat(accepted))) this.socket.pause();
  }

  /** MQTT-3.1.3-9: a client identifier the server rejects gets CONNACK 2 before the connection is closed. */
  private clientIdTooLong(clientId: string): ProtocolViolation | null {
    const max = this.options.maxClientIdBytes;
    // At most 3 UTF-8 bytes per UTF-16 unit: a cheap pre-check before counting bytes.
    if (clientId.length * 3 <= max) return null;
    const bytes = Buffer.byteLength(clientId, 'utf8');
    if (bytes <= max) return null;
    return {
      clause: 'limit',
      limit: 'max_client_id_length',
      clientId,
      reason: `client identifier of ${bytes} bytes is longer than broker.limits.max_client_id_length (${max}); CONNACK 2`,
    };
  }

  private reject(violation: ProtocolViolation, connackCode: number | undefined): void {
    this.violated = true;
    this.options.onViolation(violation);
    if (connackCode !== undefined) {
      this.socket.end(connack(connackCode));
      // end() flushes the CONNACK; the socket's 'close' destroys this stream.
      setTimeout(() => this.socket.destroy(), 1000).unref();
    } else {
      this.socket.destroy();
    }
  }

  /** aedes' first packet is always the CONNACK, written in several pieces: hold it until whole. */
  private completeConnack(chunk: Buffer): Buffer | null {
    const pending = Buffer.concat([this.connackPending ?? Buffer.alloc(0), chunk]);
    if (pending.length < CONNACK_BYTES) {
      this.connackPending = pending;
      return null;
    }
    this.connackPending = null;
    const isConnack = pending[0] === 0x20 && pending[1] === 0x02;
    if (isConnack && pending[3] === 0 && this.connect !== undefined) {
      // MQTT-3.2.2-2 (Session Present for an existing session); MQTT-3.2.2-4 keeps it 0 on refusal.
      if (this.options.sessions.accepted(this.connect)) pending[2] |= 0x01;
    }
    return pending;
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.violated || this.socket.destroyed) return callback();
    let out: Buffer | null = chunk;
    if (this.connackPending !== null) {
      out = this.completeConnack(chunk);
      if (out === null) return callback();
    }
    this.outbound.written(out);
    if (this.outbound.size >= PACKET_ID_SPACE) {
      // Every packet identifier is in use: a new QoS > 0 PUBLISH could only reuse one (MQTT-2.3.1-4).
      this.reject({ clause: 'MQTT-2.3.1-4', reason: 'all 65535 packet identifiers await acknowledgement' }, undefined);
      return callback();
    }
    this.socket.write(out, (err) => callback(err ?? null));
  }

  /**
   * aedes writes each packet in several pieces; pieces queued while the socket is busy go out
   * together, so with TCP_NODELAY a packet is not one segment and one syscall per piece.
   */
  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    this._write(chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), 'binary', callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.socket.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.socket.destroy();
    callback(err);
  }
}
