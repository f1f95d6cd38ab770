// The SOAP request layer under node-onvif. node-onvif 0.1.7 builds every request (its service
// classes and the WS-Security UsernameToken, Created shifted by the camera's clock offset) and
// runs the init sequence; gatehouse keeps all of that. What it replaces is soap.requestCommand,
// the one function that sends a request and reads the reply, because 0.1.7's version:
//   - buffers replies without limit (a camera streaming forever exhausts memory),
//   - has one process-wide 3 s idle timeout, reset by every byte (a trickling reply never ends),
//   - speaks plain HTTP only, even for https:// service addresses,
//   - leaves the response stream without an 'error' listener (a reset mid-reply crashes the process),
//   - turns every failure into a bare Error with a text message.
// The replacement takes its limits, abort signal and credentials from the AsyncLocalStorage scope
// the transport opens around each operation, and fails with OnvifError. Requests made outside any
// scope are refused rather than run unbounded.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import type { UrlWithStringQuery } from 'node:url';
import type { OnvifSoapResult } from 'node-onvif';
import type OnvifSoapModule from 'node-onvif/lib/modules/soap.js';
import { DeviceError } from '../../driver-api.js';
import { OnvifError } from './access.js';
import type { Credentials } from './http-auth.js';
import { httpExchange, type HttpAgents } from './http.js';

export interface SoapScope {
  /** Ends every request of the scope (deadline, link revoked, transport stopped). */
  signal: AbortSignal;
  maxBodyBytes: number;
  agents: HttpAgents;
  /** For cameras that answer SOAP with an HTTP Digest challenge (ONVIF Core allows both schemes). */
  credentials?: Credentials;
  /** When present, the last successful reply of each method is kept here. */
  replies?: Map<string, OnvifSoapResult>;
  /** Every failed request of the scope, in order. */
  failures: { method: string; error: OnvifError }[];
  /**
   * Set by the first failure that makes further requests pointless (unreachable, timeout); later
   * requests of the scope fail at once with it, so node-onvif's init, which skips some failures,
   * does not wait out a timeout per remaining request.
   */
  fatal?: OnvifError;
}

const scopes = new AsyncLocalStorage<SoapScope>();

let installed = false;
// node-onvif is required here, on the first install (a camera transport or a probe being created),
// not when this module is imported: a site without cameras never loads it (test/transport/onvif/lazy-load.test.ts).
let soap: typeof OnvifSoapModule;

/** The parse of a GetSystemDateAndTime reply in node-onvif's device service (lib/modules/service-device.js). */
interface ClockParse {
  (this: unknown, converted: Record<string, unknown>): { date: Date | null } | null;
}

/** Puts gatehouse's request layer under node-onvif (once per process). */
export function installSoapLayer(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  soap = require('node-onvif/lib/modules/soap.js') as typeof OnvifSoapModule;
  const serviceDevice = require('node-onvif/lib/modules/service-device.js') as { prototype: { _parseGetSystemDateAndTime: ClockParse } };
  soap.requestCommand = requestCommand;
  const parseClock = serviceDevice.prototype._parseGetSystemDateAndTime;
  serviceDevice.prototype._parseGetSystemDateAndTime = function (this: unknown, converted) {
    const parsed = parseClock.call(this, converted);
    if (parsed?.date) parsed.date = cameraUtcTime(converted, parsed.date.getUTCMilliseconds()) ?? parsed.date;
    return parsed;
  };
}

/**
 * tt:UTCDateTime of a GetSystemDateAndTimeResponse (devicemgmt.wsdl). node-onvif 0.1.7 sets year,
 * month and day one after another on today's date, so on the 31st a camera already in a shorter
 * month (a few minutes ahead at a month's end) overflows into the month after: an offset of weeks,
 * and every UsernameToken refused. Date.UTC takes the fields together. `ms`: node-onvif's guess
 * for the sub-second the camera does not send, kept.
 */
function cameraUtcTime(converted: Record<string, unknown>, ms: number): Date | undefined {
  let node: unknown = converted;
  for (const key of ['Body', 'GetSystemDateAndTimeResponse', 'SystemDateAndTime', 'UTCDateTime']) node = isRecord(node) ? node[key] : undefined;
  if (!isRecord(node) || !isRecord(node.Date) || !isRecord(node.Time)) return undefined;
  const field = (parent: Record<string, unknown>, name: string): number => Number.parseInt(text(parent[name]), 10);
  const parts = [field(node.Date, 'Year'), field(node.Date, 'Month') - 1, field(node.Date, 'Day'), field(node.Time, 'Hour'), field(node.Time, 'Minute'), field(node.Time, 'Second')];
  if (!parts.every(Number.isFinite)) return undefined;
  const [year, month, day, hour, minute, second] = parts;
  return new Date(Date.UTC(year, month, day, hour, minute, second, ms));
}

/** Runs `fn` (node-onvif calls) with `scope`'s limits applying to every request it makes. */
export function inSoapScope<T>(scope: SoapScope, fn: () => Promise<T>): Promise<T> {
  return scopes.run(scope, fn);
}

async function requestCommand(oxaddr: UrlWithStringQuery, methodName: string, envelope: string): Promise<OnvifSoapResult> {
  const scope = scopes.getStore();
  if (scope === undefined) {
    throw new OnvifError('unreachable', 'device_error', `${methodName}: node-onvif request made outside an ONVIF transport; refused`, { notApplied: true });
  }
  try {
    if (scope.fatal !== undefined) throw scope.fatal;
    const result = await exchange(scope, oxaddr, methodName, envelope);
    scope.replies?.set(methodName, result);
    return result;
  } catch (err) {
    const error = asOnvifError(err, methodName);
    scope.failures.push({ method: methodName, error });
    if (error.reason === 'unreachable' || error.reason === 'timeout') scope.fatal ??= error;
    throw error;
  }
}

function asOnvifError(err: unknown, methodName: string): OnvifError {
  if (err instanceof OnvifError) return err;
  if (err instanceof DeviceError) return new OnvifError('unreachable', err.code, `${methodName}: ${err.message}`, { cause: err, notApplied: err.notApplied });
  return new OnvifError('bad_reply', 'device_error', `${methodName}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

async function exchange(scope: SoapScope, oxaddr: UrlWithStringQuery, methodName: string, envelope: string): Promise<OnvifSoapResult> {
  // node-onvif's parsed address carries user:pass in `auth`; it is never put on the wire.
  const url = new URL(`${oxaddr.protocol ?? 'http:'}//${oxaddr.host ?? ''}${oxaddr.path ?? '/'}`);
  const label = `${methodName} at ${url.origin}${url.pathname}`;
  const reply = await httpExchange({
    url,
    method: 'POST',
    // SOAP 1.2 HTTP binding (W3C SOAP 1.2 Part 2, section 7.1.4): application/soap+xml.
    headers: { 'content-type': 'application/soap+xml; charset=utf-8' },
    body: Buffer.from(envelope, 'utf8'),
    maxBytes: scope.maxBodyBytes,
    signal: scope.signal,
    agents: scope.agents,
    credentials: scope.credentials,
    label,
  });
  const xml = reply.body.toString('utf8');
  let envelopeDoc: Record<string, unknown> | null = null;
  if (xml.trim().length > 0) {
    try {
      envelopeDoc = await soap.parse(xml);
    } catch (err) {
      if (reply.status === 200) throw new OnvifError('bad_reply', 'device_error', `${label}: reply is not well-formed XML (${firstLine(err)})`, { cause: err });
    }
  }
  const body = isRecord(envelopeDoc) ? envelopeDoc.Body : undefined;
  // SOAP 1.2 section 5.4: a fault may come with 400 or 500 (or, from some cameras, 200 or 401).
  if (isRecord(body) && isRecord(body.Fault)) throw faultError(label, body.Fault, reply.status);
  if (reply.status === 401 || reply.status === 403) {
    const tried = reply.auth === 'none' ? 'WS-Security UsernameToken' : `HTTP ${reply.auth} authentication`;
    throw new OnvifError('not_authorized', 'device_error', `${label}: HTTP ${reply.status} ${reply.statusText}; the camera refused ${tried} (check user and password)`, { notApplied: true });
  }
  if (reply.status !== 200) throw new OnvifError('http_status', 'device_error', `${label}: HTTP ${reply.status} ${reply.statusText}`);
  if (!isRecord(body)) throw new OnvifError('bad_reply', 'device_error', `${label}: reply is not a SOAP envelope with a Body`);
  if (!Object.hasOwn(body, `${methodName}Response`)) {
    throw new OnvifError('bad_reply', 'device_error', `${label}: reply has no ${methodName}Response (has ${Object.keys(body).filter((k) => k !== '$').join(', ') || 'nothing'})`);
  }
  return { soap: xml, formatted: '', converted: envelopeDoc as Record<string, unknown>, data: body };
}

/** SOAP 1.2 Fault (section 5.4): Code/Value, nested Code/Subcode/Value, Reason/Text. */
function faultError(label: string, fault: Record<string, unknown>, status: number): OnvifError {
  const codes: string[] = [];
  let code: unknown = fault.Code;
  while (isRecord(code)) {
    const value = text(code.Value);
    if (value) codes.push(value);
    code = code.Subcode;
  }
  const reason = text(isRecord(fault.Reason) ? fault.Reason.Text : undefined) || 'no reason given';
  const subcodes = codes.slice(1);
  const innermost = subcodes.at(-1);
  const localNames = subcodes.map((c) => c.replace(/^[^:]*:/, ''));
  const where = `${label}: SOAP fault ${codes.join(' / ') || '(no code)'} (HTTP ${status}): ${reason}`;
  // ONVIF Core section 5.12: env:Sender ter:NotAuthorized is the answer to bad credentials.
  if (localNames.includes('NotAuthorized')) {
    return new OnvifError('not_authorized', 'device_error', `${where}; the camera refused the credentials or the request time (check user, password and the camera clock)`, { notApplied: true, faultSubcode: innermost });
  }
  if (localNames.includes('ActionNotSupported')) return new OnvifError('not_supported', 'device_error', where, { notApplied: true, faultSubcode: innermost });
  return new OnvifError('soap_fault', 'device_error', where, { notApplied: true, faultSubcode: innermost });
}

/** An element's text as xml2js gives it: a string, or an object with the text under `_`. */
export function text(value: unknown): string {
  if (typeof value === 'string') return value.trim();
  if (Array.isArray(value)) return text(value[0]);
  if (isRecord(value) && typeof value._ === 'string') return value._.trim();
  return '';
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
