// The site simulator's ONVIF camera, which `gatehouse demo` serves in-process, and the tests' ONVIF
// peer (test/simulator/onvif-camera.test.ts, test/transport/onvif.test.ts, test/devices/camera.test.ts).
// A simulated ONVIF camera on 127.0.0.1: the device (devicemgmt.wsdl), media (media.wsdl) and PTZ
// (ptz.wsdl) services over SOAP 1.2, and a JPEG snapshot URI. It reads requests the way a camera's
// SOAP stack does (namespace-aware, operation = the Body's element, WS-Security UsernameToken
// checked against its own clock, which can be set off ours), answers with real ONVIF XML, records
// what it was asked, and has switches for the faults tests need: down/up, SOAP faults, malformed
// replies, delays, huge bodies.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HttpAuthCheck, NS, UsernameTokenCheck, type Account } from './auth.js';
import {
  capabilities,
  deviceInformation,
  emptyResponse,
  envelope,
  faultEnvelope,
  mediaUriResponse,
  presetsResponse,
  profilesResponse,
  services,
  statusResponse,
  systemDateAndTime,
  type CameraPreset,
  type CameraProfile,
  type DeviceFacts,
  type FaultCode,
  type ServiceAddresses,
} from './replies.js';
import { EVENT_NS } from './events-replies.js';
import { EVENT_SERVICE_PATH, EventFault, PULL_POINT_PATH, SimulatedEventService, type EventRaise, type PullRecord } from './events.js';
import { tinyJpeg } from './tiny-jpeg.js';
import { child, childText, parseXml, type XmlElement } from './xml-tree.js';

export type { CameraPreset, CameraProfile } from './replies.js';

/** A way the camera can be told to answer an operation (or `snapshot`, or every request: '*'). */
export type Misbehaviour =
  | { kind: 'fault'; code: FaultCode; subcodes: string[]; reason: string; status?: number }
  /** truncated XML; an HTML page; a well-formed envelope holding the wrong response element. */
  | { kind: 'malformed'; variant: 'truncated' | 'not-xml' | 'wrong-response' }
  /** Answers after `ms`; Infinity never answers (the connection stays open). */
  | { kind: 'delay'; ms: number }
  /** A reply body of `bytes`, chunked, or with its Content-Length declared up front. */
  | { kind: 'huge'; bytes: number; declareLength?: boolean }
  /** This body, as it is, with HTTP 200 (a camera's odd XML: deep nesting, unknown namespaces). */
  | { kind: 'raw'; body: string };

export interface TestCameraOptions {
  user?: string;
  password?: string;
  /** The camera's clock minus the real one. */
  clockOffsetMs?: number;
  /** How far wsu:Created may be from the camera's clock. */
  createdWindowMs?: number;
  snapshotAuth?: 'digest' | 'basic' | 'none';
  /**
   * How SOAP requests authenticate: a WS-Security UsernameToken (the default), or HTTP Digest,
   * which ONVIF Core section 5.9.1 also lets a device ask for (the UsernameToken is then ignored).
   */
  soapAuth?: 'ws-security' | 'http-digest';
  /** ONVIF Core section 5.12 lets a device answer ter:NotAuthorized with HTTP 400 or 401. */
  notAuthorizedStatus?: 400 | 401;
  /** Put the credentials into the stream and snapshot URIs, as some cameras do. */
  credentialsInUris?: boolean;
  /** The snapshot URI's query parameters carrying them: user and pwd by default; CGI cameras of some makers use loginuse and loginpas. */
  uriCredentialParams?: [string, string];
  facts?: Partial<DeviceFacts>;
  profiles?: CameraProfile[];
  presets?: CameraPreset[];
  /** Tokens of the camera's alarm inputs (tns1:Device/Trigger/DigitalInput); one by default. */
  inputs?: string[];
  /** Whether the camera has an event service at all (GetCapabilities names it); true by default. */
  events?: boolean;
}

export interface RecordedCall {
  service: 'device' | 'media' | 'ptz' | 'events' | 'pullpoint';
  operation: string;
  /** null: a PRE_AUTH operation, not checked. */
  authorized: boolean | null;
  at: number;
}

export type PtzCall =
  | { operation: 'ContinuousMove'; profile: string; pan: number; tilt: number; zoom: number; timeout: string | undefined; at: number }
  | { operation: 'Stop'; profile: string; panTilt: boolean; zoom: boolean; at: number }
  | { operation: 'GotoPreset'; profile: string; preset: string; at: number };

export interface SnapshotCall {
  profile: string;
  auth: 'digest' | 'basic' | 'none';
  at: number;
}

/** ONVIF Core section 5.9.4.3 (access classes): these answer without authentication. */
const PRE_AUTH = new Set(['GetSystemDateAndTime', 'GetCapabilities', 'GetServices', 'GetServiceCapabilities', 'GetWsdlUrl']);

const SERVICE_PATHS: Record<string, { service: RecordedCall['service']; ns: string }> = {
  '/onvif/device_service': { service: 'device', ns: NS.tds },
  '/onvif/media_service': { service: 'media', ns: NS.trt },
  '/onvif/ptz_service': { service: 'ptz', ns: NS.tptz },
  [EVENT_SERVICE_PATH]: { service: 'events', ns: EVENT_NS.tev },
};
const SNAPSHOT_PATH = '/onvif-http/snapshot';
/** The simulator's own controls (not ONVIF): POST /simulator/motion, /simulator/tamper, /simulator/input. */
const CONTROL_PATH = '/simulator/';
const CONTROL_DEFAULT_MS = 3000;
/** What a pull point answers (event.wsdl PullPointSubscription, WS-BaseNotification SubscriptionManager), with each request element's namespace. */
const PULL_POINT_OPERATIONS: Record<string, string> = { PullMessages: EVENT_NS.tev, Renew: EVENT_NS.wsnt, Unsubscribe: EVENT_NS.wsnt };
const MAX_REQUEST_BYTES = 256 * 1024;
const VELOCITY_SPACES = ['http://www.onvif.org/ver10/tptz/PanTiltSpaces/VelocityGenericSpace', 'http://www.onvif.org/ver10/tptz/ZoomSpaces/VelocityGenericSpace'];
/** tt:PTZConfiguration DefaultPTZTimeout of this camera. */
const DEFAULT_MOVE_TIMEOUT_MS = 5000;

const DEFAULT_PROFILES: CameraProfile[] = [
  { token: 'Profile_1', name: 'mainStream', width: 1920, height: 1080, bitrateKbps: 4096, ptz: true },
  { token: 'Profile_2', name: 'subStream', width: 640, height: 360, bitrateKbps: 512, ptz: false },
];
const DEFAULT_PRESETS: CameraPreset[] = [
  { token: '1', name: 'Gate entrance', pan: -0.5, tilt: 0.1, zoom: 0 },
  { token: '2', name: 'Parking', pan: 0.4, tilt: -0.2, zoom: 0.3 },
];

/** A fault the handlers throw; it becomes a SOAP Fault reply. */
class CameraFault extends Error {
  constructor(
    readonly code: FaultCode,
    readonly subcodes: string[],
    readonly reason: string,
    readonly status = code === 'Sender' ? 400 : 500,
  ) {
    super(reason);
  }
}

type Handler = (request: XmlElement) => string | Promise<string>;

export class TestOnvifCamera {
  readonly calls: RecordedCall[] = [];
  readonly ptzCalls: PtzCall[] = [];
  readonly snapshots: SnapshotCall[] = [];
  readonly authFailures: { where: string; why: string }[] = [];
  readonly jpeg = tinyJpeg();
  private account: Account;
  private clockOffsetMs: number;
  private readonly opts: TestCameraOptions;
  private readonly profiles: CameraProfile[];
  private readonly presets: CameraPreset[];
  private readonly tokens: UsernameTokenCheck;
  private readonly snapshotAuth: HttpAuthCheck | null;
  private readonly soapDigest: HttpAuthCheck | null;
  private readonly misbehaviours = new Map<string, Misbehaviour>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly handlers: Record<RecordedCall['service'], Record<string, Handler>>;
  private server: Server | null = null;
  private port = 0;
  private position = { pan: 0, tilt: 0, zoom: 0 };
  private movingUntil = 0;
  private factsOverride: Partial<DeviceFacts> = {};
  private readonly eventService: SimulatedEventService;

  constructor(opts: TestCameraOptions = {}) {
    this.opts = opts;
    this.account = { user: opts.user ?? 'admin', password: opts.password ?? 'secret' };
    this.clockOffsetMs = opts.clockOffsetMs ?? 0;
    this.profiles = opts.profiles ?? DEFAULT_PROFILES;
    this.presets = opts.presets ?? DEFAULT_PRESETS;
    this.tokens = new UsernameTokenCheck(() => this.account, () => this.now(), opts.createdWindowMs ?? 10_000);
    const scheme = opts.snapshotAuth ?? 'digest';
    this.snapshotAuth = scheme === 'none' ? null : new HttpAuthCheck(scheme, 'IP Camera(G1234)', () => this.account);
    this.soapDigest = opts.soapAuth === 'http-digest' ? new HttpAuthCheck('digest', 'ONVIF(G1234)', () => this.account) : null;
    this.eventService = new SimulatedEventService(() => this.now(), () => `http://127.0.0.1:${this.port}`, opts.inputs ?? ['AlarmIn_1']);
    this.handlers = {
      events: {
        GetEventProperties: (r) => this.eventService.serviceOperation('GetEventProperties', r),
        CreatePullPointSubscription: (r) => this.eventService.serviceOperation('CreatePullPointSubscription', r),
      },
      pullpoint: {},
      device: {
        GetSystemDateAndTime: () => systemDateAndTime(new Date(this.now())),
        GetCapabilities: (r) => this.getCapabilities(r),
        GetServices: () => services(this.addresses()),
        GetDeviceInformation: () => deviceInformation(this.facts()),
      },
      media: {
        GetProfiles: () => profilesResponse(this.profiles),
        GetStreamUri: (r) => this.getStreamUri(r),
        GetSnapshotUri: (r) => mediaUriResponse('GetSnapshotUri', this.snapshotUri(this.profileOf(r, NS.trt).token), 'PT0S'),
      },
      ptz: {
        ContinuousMove: (r) => this.continuousMove(r),
        Stop: (r) => this.stopMove(r),
        GetPresets: (r) => {
          this.ptzProfileOf(r);
          return presetsResponse(this.presets);
        },
        GotoPreset: (r) => this.gotoPreset(r),
        GetStatus: (r) => {
          this.ptzProfileOf(r);
          return statusResponse(this.position, this.now() < this.movingUntil, new Date(this.now()));
        },
      },
    };
  }

  /** The device service address, as a client is configured with it. */
  get xaddr(): string {
    return `http://127.0.0.1:${this.port}/onvif/device_service`;
  }

  /** Listens on 127.0.0.1, on `port` (0: one the OS picks). */
  async start(port = 0): Promise<void> {
    await this.listen(port);
  }

  async stop(): Promise<void> {
    await this.down();
  }

  /** The camera goes away: the listener closes and every connection is cut. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (server === null) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    server.closeAllConnections();
    await closed;
  }

  /** A reboot: the camera goes away, forgets every event subscription, and comes back on the same port. */
  async restart(): Promise<void> {
    await this.down();
    this.eventService.reset();
    await this.up();
  }

  /** Motion starts or ends: the video source's MotionAlarm, or the cell motion rule `opts.rule`. */
  setMotion(active: boolean, opts: EventRaise = {}): void {
    this.eventService.motion(active, opts);
  }

  /** Tamper starts or ends: the tamper rule, or with `scene` the global scene change (the lens covered or turned). */
  setTamper(active: boolean, opts: { scene?: boolean; rule?: string } = {}): void {
    this.eventService.tamper(active, opts);
  }

  /** An alarm input (a door contact wired to the camera) goes active or inactive. */
  setInput(token: string, active: boolean): void {
    this.eventService.input(token, active);
  }

  /** Any notification, e.g. on a topic gatehouse does not map (without the tns1: prefix). */
  raiseEvent(topic: string, source: Record<string, string>, data: Record<string, string>): void {
    this.eventService.raise(topic, source, data);
  }

  /** The PullMessages the camera answered (the last 1000): when each came and was answered, the topics it carried. */
  get pulls(): readonly PullRecord[] {
    return this.eventService.pulls;
  }

  /** Pull-point subscriptions alive now. */
  activeSubscriptions(): number {
    return this.eventService.activePullPoints();
  }

  /** The camera comes back on the same port. */
  async up(): Promise<void> {
    if (this.server !== null) return;
    await this.listen(this.port);
  }

  /** Answer `operation` (a SOAP operation's name, `snapshot`, or '*' for everything) this way from now on. */
  misbehave(operation: string, how: Misbehaviour): void {
    this.misbehaviours.set(operation, how);
  }

  /** Back to normal for `operation`, or for everything. */
  behave(operation?: string): void {
    if (operation === undefined) this.misbehaviours.clear();
    else this.misbehaviours.delete(operation);
  }

  setPassword(password: string): void {
    this.account = { ...this.account, password };
  }

  /** What GetDeviceInformation says from now on (a firmware upgrade, say). */
  setFacts(facts: Partial<DeviceFacts>): void {
    this.factsOverride = { ...this.factsOverride, ...facts };
  }

  setClockOffset(ms: number): void {
    this.clockOffsetMs = ms;
  }

  /** The camera's clock. */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  callsOf(operation: string): RecordedCall[] {
    return this.calls.filter((c) => c.operation === operation);
  }

  private listen(port: number): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    return new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port }, () => {
        server.off('error', reject);
        this.server = server;
        this.port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  }

  private addresses(): ServiceAddresses {
    const base = `http://127.0.0.1:${this.port}`;
    return { device: `${base}/onvif/device_service`, media: `${base}/onvif/media_service`, ptz: `${base}/onvif/ptz_service`, events: this.opts.events === false ? '' : `${base}${EVENT_SERVICE_PATH}` };
  }

  private facts(): DeviceFacts {
    return { manufacturer: 'Gatehouse Test', model: 'TC-2 PTZ', firmware: 'V5.7.3 build 250101', serialNumber: 'TC2-0001', hardwareId: '88', ...this.opts.facts, ...this.factsOverride };
  }

  private snapshotUri(profileToken: string): string {
    const [userParam, passwordParam] = this.opts.uriCredentialParams ?? ['user', 'pwd'];
    const credentials = this.opts.credentialsInUris ? `&${userParam}=${encodeURIComponent(this.account.user)}&${passwordParam}=${encodeURIComponent(this.account.password)}` : '';
    return `http://127.0.0.1:${this.port}${SNAPSHOT_PATH}?${encodeURIComponent(profileToken)}${credentials}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://camera');
    if (url.pathname === SNAPSHOT_PATH) return this.serveSnapshot(req, res, url);
    if (url.pathname.startsWith(CONTROL_PATH)) return this.serveControl(req, res, url);
    const pullPoint = url.pathname.startsWith(PULL_POINT_PATH) ? url.pathname.slice(PULL_POINT_PATH.length) : undefined;
    const endpoint = pullPoint !== undefined ? { service: 'pullpoint' as const, ns: '' } : SERVICE_PATHS[url.pathname];
    if (endpoint === undefined || (endpoint.service === 'events' && this.opts.events === false)) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('POST a SOAP envelope\n');
    const body = await readBody(req);
    if (body === null) return void res.writeHead(413, { 'content-type': 'text/plain' }).end('request too large\n');
    let request: XmlElement;
    let operation: string;
    let header: XmlElement | undefined;
    try {
      ({ request, header } = this.readEnvelope(body));
      operation = request.local;
      const known = pullPoint !== undefined ? PULL_POINT_OPERATIONS[operation] === request.uri : request.uri === endpoint.ns && this.handlers[endpoint.service][operation] !== undefined;
      if (!known) {
        // ONVIF Core section 5.12.2.3 (generic faults): an operation this service does not offer.
        throw new CameraFault('Receiver', ['ter:ActionNotSupported'], `${operation} is not an operation of this service`);
      }
    } catch (err) {
      if (err instanceof CameraFault) return this.sendFault(res, err);
      throw err;
    }
    if (!PRE_AUTH.has(operation)) {
      const given = req.headers.authorization;
      const check = this.soapDigest ? this.soapDigest.check(given, 'POST', req.url ?? '') : this.tokens.check(header);
      this.calls.push({ service: endpoint.service, operation, authorized: check.ok, at: Date.now() });
      if (!check.ok && this.soapDigest) {
        if (given !== undefined) this.authFailures.push({ where: operation, why: check.why });
        return void res.writeHead(401, { 'www-authenticate': this.soapDigest.challenge(), 'content-type': 'text/plain' }).end('401 Unauthorized\n');
      }
      if (!check.ok) {
        this.authFailures.push({ where: operation, why: check.why });
        return this.sendFault(res, new CameraFault('Sender', ['ter:NotAuthorized'], 'Sender not Authorized', this.opts.notAuthorizedStatus ?? 400));
      }
    } else {
      this.calls.push({ service: endpoint.service, operation, authorized: null, at: Date.now() });
    }
    const how = this.misbehaviours.get(operation) ?? this.misbehaviours.get('*');
    const gone = new Promise<void>((resolve) => res.once('close', resolve));
    const render = async (): Promise<CameraFault | string> => {
      try {
        if (pullPoint !== undefined) return await this.eventService.pullPointOperation(pullPoint, operation, request, gone);
        return await this.handlers[endpoint.service][operation](request);
      } catch (err) {
        if (err instanceof CameraFault) return err;
        if (err instanceof EventFault) return new CameraFault(err.code, err.subcodes, err.reason);
        throw err;
      }
    };
    const answer = async (): Promise<void> => {
      const reply = await render();
      if (res.destroyed) return;
      if (reply instanceof CameraFault) this.sendFault(res, reply);
      else this.sendXml(res, 200, reply);
    };
    if (how === undefined) return answer();
    return this.misbehaveSoap(res, how, render, answer);
  }

  /** SOAP 1.2 Part 1 section 5: the Envelope, its Header blocks (mustUnderstand) and its Body. */
  private readEnvelope(body: string): { request: XmlElement; header: XmlElement | undefined } {
    let doc: XmlElement;
    try {
      doc = parseXml(body);
    } catch (err) {
      throw new CameraFault('Sender', ['ter:WellFormed'], `not well-formed XML: ${(err as Error).message.split('\n')[0]}`);
    }
    if (doc.uri !== NS.soap || doc.local !== 'Envelope') {
      // Section 5.4.7: anything but a SOAP 1.2 Envelope is a VersionMismatch.
      throw new CameraFault('VersionMismatch', [], 'expected a SOAP 1.2 Envelope');
    }
    const header = child(doc, NS.soap, 'Header');
    for (const block of header?.children ?? []) {
      const must = block.attributes.get(`{${NS.soap}}mustUnderstand`);
      const understood = (block.uri === NS.wsse && block.local === 'Security') || block.uri === EVENT_NS.wsa;
      if ((must === '1' || must === 'true') && !understood) throw new CameraFault('MustUnderstand', [], `header block {${block.uri}}${block.local} not understood`);
    }
    const requestBody = child(doc, NS.soap, 'Body');
    if (requestBody === undefined || requestBody.children.length !== 1) throw new CameraFault('Sender', ['ter:InvalidArgs'], 'the Body must hold exactly one request element');
    return { request: requestBody.children[0], header };
  }

  private async misbehaveSoap(res: ServerResponse, how: Misbehaviour, render: () => Promise<CameraFault | string>, answer: () => Promise<void>): Promise<void> {
    switch (how.kind) {
      case 'fault':
        return this.sendFault(res, new CameraFault(how.code, how.subcodes, how.reason, how.status));
      case 'delay':
        return this.later(how.ms, () => void answer());
      case 'raw':
        return this.sendXml(res, 200, how.body);
      case 'huge':
        return void this.sendHuge(res, how, 'application/soap+xml; charset=utf-8', `<?xml version="1.0"?><env:Envelope xmlns:env="${NS.soap}"><env:Body><!--`);
      case 'malformed':
        if (how.variant === 'not-xml') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body><h1>Please log in</h1><br></body></html>\n');
        if (how.variant === 'wrong-response') return this.sendXml(res, 200, envelope(`<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP><tt:Name>cam</tt:Name></tds:HostnameInformation></tds:GetHostnameResponse>`));
      {
        // The real reply, cut off part way: a camera that crashed or a proxy that gave up.
        const reply = await render();
        const xml = reply instanceof CameraFault ? faultEnvelope(reply.code, reply.subcodes, reply.reason) : reply;
        return this.sendXml(res, 200, xml.slice(0, Math.floor(xml.length * 0.6)));
      }
    }
  }

  private async serveSnapshot(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'GET') return void res.writeHead(405, { allow: 'GET' }).end();
    const profile = [...url.searchParams.keys()][0] ?? '';
    if (!this.profiles.some((p) => p.token === profile)) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('no such profile\n');
    let auth: SnapshotCall['auth'] = 'none';
    if (this.snapshotAuth !== null) {
      const given = req.headers.authorization;
      const check = this.snapshotAuth.check(given, 'GET', req.url ?? '');
      if (!check.ok) {
        if (given !== undefined) this.authFailures.push({ where: 'snapshot', why: check.why });
        return void res.writeHead(401, { 'www-authenticate': this.snapshotAuth.challenge(), 'content-type': 'text/plain' }).end('401 Unauthorized\n');
      }
      auth = this.opts.snapshotAuth === 'basic' ? 'basic' : 'digest';
    }
    const how = this.misbehaviours.get('snapshot') ?? this.misbehaviours.get('*');
    const answer = (): void => {
      this.snapshots.push({ profile, auth, at: Date.now() });
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': this.jpeg.length }).end(this.jpeg);
    };
    if (how === undefined) return answer();
    switch (how.kind) {
      case 'delay':
        return this.later(how.ms, answer);
      case 'huge':
        return this.sendHuge(res, how, 'image/jpeg', '\xff\xd8');
      case 'fault':
        return void res.writeHead(how.status ?? 500, { 'content-type': 'text/plain' }).end(`${how.reason}\n`);
      case 'malformed':
        return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Snapshot unavailable</body></html>\n');
      case 'raw':
        return void res.writeHead(200, { 'content-type': 'image/jpeg' }).end(how.body);
    }
  }

  /**
   * The simulator's controls, for the demo and for people trying it: `POST /simulator/motion`
   * (`?rule=` a cell motion rule), `/simulator/tamper` (`?scene=1` a global scene change),
   * `/simulator/input?token=AlarmIn_1`; each on for `duration_ms` (3000 by default), then off;
   * `active=false` ends it at once.
   */
  private serveControl(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const what = url.pathname.slice(CONTROL_PATH.length);
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('POST to raise it\n');
    const q = url.searchParams;
    const durationMs = Number(q.get('duration_ms') ?? CONTROL_DEFAULT_MS);
    const active = q.get('active') !== 'false';
    if (!Number.isInteger(durationMs) || durationMs < 0 || durationMs > 3_600_000) return void res.writeHead(400, { 'content-type': 'text/plain' }).end('duration_ms: 0 to 3600000\n');
    let set: (on: boolean) => void;
    if (what === 'motion') set = (on) => this.setMotion(on, q.has('rule') ? { rule: q.get('rule')! } : {});
    else if (what === 'tamper') set = (on) => this.setTamper(on, { scene: q.get('scene') === '1' });
    else if (what === 'input') set = (on) => this.setInput(q.get('token') ?? 'AlarmIn_1', on);
    else return void res.writeHead(404, { 'content-type': 'text/plain' }).end('controls: motion, tamper, input\n');
    set(active);
    if (active && durationMs > 0) this.later(durationMs, () => set(false));
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`${what} ${active ? `on for ${durationMs} ms` : 'off'}\n`);
  }

  private later(ms: number, answer: () => void): void {
    if (ms === Infinity) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      answer();
    }, ms);
    this.timers.add(timer);
  }

  /** Streams `how.bytes` (padding inside a comment for SOAP), stopping if the client goes away. */
  private async sendHuge(res: ServerResponse, how: { bytes: number; declareLength?: boolean }, contentType: string, start: string): Promise<void> {
    const headers: Record<string, string | number> = { 'content-type': contentType };
    if (how.declareLength) headers['content-length'] = how.bytes;
    res.writeHead(200, headers);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    res.write(start, 'latin1');
    sent += start.length;
    while (sent < how.bytes && !res.destroyed) {
      const piece = chunk.subarray(0, Math.min(chunk.length, how.bytes - sent));
      sent += piece.length;
      if (!res.write(piece)) await new Promise<void>((resolve) => { res.once('drain', resolve); res.once('close', resolve); });
    }
    if (!res.destroyed) res.end();
  }

  private sendXml(res: ServerResponse, status: number, xml: string): void {
    const body = Buffer.from(xml, 'utf8');
    res.writeHead(status, { 'content-type': 'application/soap+xml; charset=utf-8', 'content-length': body.length }).end(body);
  }

  private sendFault(res: ServerResponse, fault: CameraFault): void {
    this.sendXml(res, fault.status, faultEnvelope(fault.code, fault.subcodes, fault.reason));
  }

  private getCapabilities(request: XmlElement): string {
    const category = childText(request, NS.tds, 'Category') ?? 'All';
    if (!['All', 'Device', 'Events', 'Media', 'PTZ'].includes(category)) {
      throw new CameraFault('Receiver', ['ter:ActionNotSupported', 'ter:NoSuchService'], `the device has no ${category} service`);
    }
    return capabilities(this.addresses(), category);
  }

  /** media.wsdl GetStreamUri: RTP unicast over UDP or RTSP; RTSP-over-HTTP tunnelling is not offered. */
  private getStreamUri(request: XmlElement): string {
    const profile = this.profileOf(request, NS.trt);
    const setup = child(request, NS.trt, 'StreamSetup');
    const stream = childText(setup, NS.tt, 'Stream');
    const protocol = childText(child(setup, NS.tt, 'Transport'), NS.tt, 'Protocol');
    if (stream !== 'RTP-Unicast' || (protocol !== 'UDP' && protocol !== 'RTSP')) {
      throw new CameraFault('Sender', ['ter:InvalidArgVal', 'ter:InvalidStreamSetup'], `stream ${stream} over ${protocol} is not supported`);
    }
    const credentials = this.opts.credentialsInUris ? `${encodeURIComponent(this.account.user)}:${encodeURIComponent(this.account.password)}@` : '';
    const channel = 100 + this.profiles.indexOf(profile) + 1;
    return mediaUriResponse('GetStreamUri', `rtsp://${credentials}127.0.0.1:554/Streaming/Channels/${channel}?transportmode=unicast&profile=${profile.token}`, 'PT60S');
  }

  private profileOf(request: XmlElement, ns: string): CameraProfile {
    const token = childText(request, ns, 'ProfileToken');
    const profile = this.profiles.find((p) => p.token === token);
    if (profile === undefined) throw new CameraFault('Sender', ['ter:InvalidArgVal', 'ter:NoProfile'], `the requested profile token ${token} does not exist`);
    return profile;
  }

  private ptzProfileOf(request: XmlElement): CameraProfile {
    const profile = this.profileOf(request, NS.tptz);
    if (!profile.ptz) throw new CameraFault('Sender', ['ter:InvalidArgVal', 'ter:NoPTZProfile'], `profile ${profile.token} has no PTZ configuration`);
    return profile;
  }

  /** ptz.wsdl ContinuousMove: Velocity in the generic velocity spaces (-1..1), optional Timeout (xs:duration). */
  private continuousMove(request: XmlElement): string {
    const profile = this.ptzProfileOf(request);
    const velocity = child(request, NS.tptz, 'Velocity');
    const panTilt = child(velocity, NS.tt, 'PanTilt');
    const zoom = child(velocity, NS.tt, 'Zoom');
    for (const element of [panTilt, zoom]) {
      const space = element?.attributes.get('space');
      if (space !== undefined && !VELOCITY_SPACES.includes(space)) throw new CameraFault('Sender', ['ter:InvalidArgVal', 'ter:SpaceNotSupported'], `space ${space} is not supported`);
    }
    const pan = Number(panTilt?.attributes.get('x') ?? 0);
    const tilt = Number(panTilt?.attributes.get('y') ?? 0);
    const z = Number(zoom?.attributes.get('x') ?? 0);
    if (![pan, tilt, z].every((v) => Number.isFinite(v) && v >= -1 && v <= 1)) {
      throw new CameraFault('Sender', ['ter:InvalidArgVal', 'ter:InvalidVelocity'], 'the requested velocity is out of bounds');
    }
    const timeout = childText(request, NS.tptz, 'Timeout');
    const timeoutMs = timeout === undefined ? DEFAULT_MOVE_TIMEOUT_MS : parseDuration(timeout);
    if (timeoutMs === null) throw new CameraFault('Sender', ['ter:InvalidArgVal', 'ter:TimeoutNotSupported'], `timeout ${timeout} is not an xs:duration this camera takes`);
    this.ptzCalls.push({ operation: 'ContinuousMove', profile: profile.token, pan, tilt, zoom: z, timeout, at: Date.now() });
    this.movingUntil = this.now() + timeoutMs;
    return emptyResponse('tptz', 'ContinuousMove');
  }

  private stopMove(request: XmlElement): string {
    const profile = this.ptzProfileOf(request);
    const flag = (name: string) => (childText(request, NS.tptz, name) ?? 'true') === 'true';
    this.ptzCalls.push({ operation: 'Stop', profile: profile.token, panTilt: flag('PanTilt'), zoom: flag('Zoom'), at: Date.now() });
    this.movingUntil = 0;
    return emptyResponse('tptz', 'Stop');
  }

  private gotoPreset(request: XmlElement): string {
    const profile = this.ptzProfileOf(request);
    const token = childText(request, NS.tptz, 'PresetToken');
    const preset = this.presets.find((p) => p.token === token);
    if (preset === undefined) throw new CameraFault('Sender', ['ter:InvalidArgVal', 'ter:NoToken'], `the requested preset token ${token} does not exist`);
    this.ptzCalls.push({ operation: 'GotoPreset', profile: profile.token, preset: preset.token, at: Date.now() });
    this.position = { pan: preset.pan, tilt: preset.tilt, zoom: preset.zoom };
    this.movingUntil = 0;
    return emptyResponse('tptz', 'GotoPreset');
  }
}

/** xs:duration as PTZ timeouts use it (days, hours, minutes, seconds), in ms; null when not one. */
export function parseDuration(text: string): number | null {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (m === null || text === 'P' || text.endsWith('T')) return null;
  const [, d = '0', h = '0', min = '0', s = '0'] = m;
  return ((Number(d) * 24 + Number(h)) * 60 + Number(min)) * 60_000 + Math.round(Number(s) * 1000);
}

/** The request body as text, or null past the size limit. */
async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
