import { get } from 'node:http';
import { formatIssues, loadConfig } from '../config.js';
import type { GatewayStatusDocument } from '../metrics/gateway-status.js';
import { parseTextFormat } from '../metrics/text-format.js';
import type { CliCommand } from './index.js';
import { formatStatus, summarize, type HealthAnswer, type StatusSummary } from './status-report.js';
import { clockTime } from './time-format.js';

/** Exit codes: 0 healthy, 1 reachable but unhealthy, 2 usage or config problem, 3 gateway unreachable (or another one answers). */
export const STATUS_EXIT = { healthy: 0, unhealthy: 1, usage: 2, unreachable: 3 } as const;

export const DEFAULT_TIMEOUT_MS = 5000;
/** Clears the terminal and puts the cursor top left (ECMA-48 ED 2 and CUP), as watch(1) does. */
export const CLEAR_SCREEN = '\x1b[2J\x1b[H';

class Unreachable extends Error {}

interface HttpAnswer {
  status: number;
  body: string;
}

function httpGet(url: string, timeoutMs: number, signal?: AbortSignal): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    // agent false: one connection per request, nothing kept alive to hold the process open.
    const req = get(url, { agent: false, timeout: timeoutMs, signal }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Unreachable(`no answer from ${url} within ${timeoutMs} ms: the gateway may be stuck (event loop blocked) or its process stopped`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof Unreachable) return reject(err);
      const why =
        err.code === 'ECONNREFUSED'
          ? 'connection refused: is gatehouse running, with metrics.enabled true, on this host and port?'
          : err.code === 'ECONNRESET'
            ? 'connection reset by the gateway'
            : `${err.code ?? err.message}`;
      reject(new Unreachable(`cannot reach ${url}: ${why}`));
    });
  });
}

interface Target {
  url: string;
  /** The gateway --config FILE describes: another one answering there is reported. */
  expect?: { site: string; gateway_id: string; file: string };
}

/** The metrics base URL from --url, --config FILE (metrics.host and metrics.port), or the defaults and GATEHOUSE_METRICS_* variables. */
function target(values: Record<string, string | boolean | string[] | undefined>): Target | { problem: string } {
  if (typeof values.url === 'string') {
    let url: URL;
    try {
      url = new URL(values.url);
    } catch {
      return { problem: `--url ${JSON.stringify(values.url)} is not a URL (e.g. http://127.0.0.1:9464)` };
    }
    if (url.protocol !== 'http:') return { problem: `--url must be http://host:port, not ${url.protocol}` };
    return { url: `${url.origin}${url.pathname.replace(/\/(metrics|healthz|status\.json)?\/?$/, '')}` };
  }
  const file = typeof values.config === 'string' ? values.config : undefined;
  const loaded = loadConfig(file !== undefined ? { file } : { document: { site: 'status' } });
  if (!loaded.ok) return { problem: `${file}: ${loaded.issues.length} problem(s):\n${formatIssues(loaded.issues)}` };
  const { enabled, host, port } = loaded.config.metrics;
  const source = file ?? 'the defaults';
  if (!enabled) return { problem: `metrics are disabled in ${source} (metrics.enabled: false); the gateway serves no status` };
  if (port === 0) return { problem: `metrics.port is 0 in ${source} (a free port picked at each start): pass --url with the port of the gateway's "metrics listening" log line` };
  // A wildcard bind is reached over loopback.
  const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const url = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
  return file === undefined ? { url } : { url, expect: { site: loaded.config.site, gateway_id: loaded.config.gateway_id, file } };
}

function parseHealth(answer: HttpAnswer): HealthAnswer {
  try {
    const body = JSON.parse(answer.body) as { status?: unknown; reasons?: unknown };
    return {
      httpStatus: answer.status,
      status: typeof body.status === 'string' ? body.status : String(answer.status),
      reasons: Array.isArray(body.reasons) ? body.reasons.map(String) : [],
    };
  } catch {
    return { httpStatus: answer.status, status: String(answer.status), reasons: answer.status === 200 ? [] : [`/healthz answered HTTP ${answer.status}`] };
  }
}

/** /status.json, or null from a gatehouse that does not serve it yet (404). */
function parseStatusDocument(url: string, answer: HttpAnswer): GatewayStatusDocument | null {
  if (answer.status === 404) return null;
  if (answer.status !== 200) throw new Unreachable(`${url}/status.json answered HTTP ${answer.status}: ${answer.body.trim().slice(0, 200)}`);
  try {
    const document = JSON.parse(answer.body) as GatewayStatusDocument;
    if (typeof document?.site !== 'string' || !Array.isArray(document.devices)) throw new Error('site or devices missing');
    return document;
  } catch (err) {
    throw new Unreachable(`${url}/status.json is not a gatehouse status document: ${(err as Error).message}`);
  }
}

interface Reading {
  summary: StatusSummary;
  /** Set when --config names another gateway than the one that answered. */
  mismatch?: string;
}

async function read(t: Target, timeoutMs: number, signal?: AbortSignal): Promise<Reading> {
  // /healthz first: when nothing listens, the message names it alone.
  const healthAnswer = await httpGet(`${t.url}/healthz`, timeoutMs, signal);
  const [metrics, statusAnswer] = await Promise.all(['/metrics', '/status.json'].map((path) => httpGet(`${t.url}${path}`, timeoutMs, signal)));
  if (metrics.status !== 200) throw new Unreachable(`${t.url}/metrics answered HTTP ${metrics.status}: ${metrics.body.trim().slice(0, 200)}`);
  let samples;
  try {
    samples = parseTextFormat(metrics.body);
  } catch (err) {
    throw new Unreachable(`${t.url}/metrics is not Prometheus text: ${(err as Error).message}`);
  }
  const summary = summarize(t.url, samples, parseHealth(healthAnswer), parseStatusDocument(t.url, statusAnswer));
  const answered = summary.gateway;
  if (t.expect && answered && (answered.site !== t.expect.site || answered.gateway_id !== t.expect.gateway_id)) {
    const mismatch = `the gateway at ${t.url} is ${answered.gateway_id} of site ${answered.site}, not ${t.expect.gateway_id} of site ${t.expect.site} as ${t.expect.file} says: another gateway uses the same metrics address (metrics.port)?`;
    return { summary, mismatch };
  }
  return { summary };
}

/** Text or JSON of one reading, and its exit code; problems also go to stderr. */
function render(reading: Reading, json: boolean): { out: string; err: string; code: number } {
  const { summary, mismatch } = reading;
  const out = json ? JSON.stringify(mismatch ? { ...summary, mismatch } : summary) + '\n' : `${mismatch ? `MISMATCH: ${mismatch}\n` : ''}${formatStatus(summary)}`;
  if (mismatch) return { out, err: `gatehouse status: MISMATCH: ${mismatch}\n`, code: STATUS_EXIT.unreachable };
  if (!summary.healthy) return { out, err: `gatehouse status: UNHEALTHY: ${summary.health_reasons.join('; ') || 'no reason given'}\n`, code: STATUS_EXIT.unhealthy };
  return { out, err: '', code: STATUS_EXIT.healthy };
}

async function once(t: Target, timeoutMs: number, json: boolean): Promise<number> {
  let reading: Reading;
  try {
    reading = await read(t, timeoutMs);
  } catch (err) {
    if (!(err instanceof Unreachable)) throw err;
    process.stderr.write(`gatehouse status: UNREACHABLE: ${err.message}\n`);
    return STATUS_EXIT.unreachable;
  }
  const { out, err, code } = render(reading, json);
  process.stdout.write(out);
  process.stderr.write(err);
  return code;
}

/** Redraws every `intervalMs` until SIGINT or SIGTERM; a gateway that does not answer is shown as such and asked again. */
async function watch(t: Target, timeoutMs: number, json: boolean, intervalMs: number, label: string): Promise<number> {
  const stopping = new AbortController();
  const stop = () => stopping.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    while (!stopping.signal.aborted) {
      let frame: string;
      try {
        const reading = await read(t, timeoutMs, stopping.signal);
        frame = render(reading, json).out;
      } catch (err) {
        if (stopping.signal.aborted) break;
        if (!(err instanceof Unreachable)) throw err;
        frame = json ? JSON.stringify({ url: t.url, unreachable: err.message, now: Date.now() }) + '\n' : `UNREACHABLE: ${err.message}\n`;
      }
      if (stopping.signal.aborted) break;
      process.stdout.write(json ? frame : `${CLEAR_SCREEN}every ${label} s: gatehouse status at ${clockTime(Date.now())} (Ctrl-C stops)\n\n${frame}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        stopping.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}

/** `gatehouse status [--url URL | --config FILE] [--json] [--timeout MS] [--watch [SECONDS]]`: a one-screen summary of a running gateway. */
export const status: CliCommand = {
  async run(values) {
    const timeoutMs = values.timeout === undefined ? DEFAULT_TIMEOUT_MS : Number(values.timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
      process.stderr.write(`gatehouse status: --timeout must be a positive number of milliseconds, got ${JSON.stringify(values.timeout)}\n`);
      return STATUS_EXIT.usage;
    }
    const seconds = values.watch === undefined ? undefined : Number(values.watch);
    if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0 && seconds <= 86_400)) {
      process.stderr.write(`gatehouse status: --watch takes a number of seconds above 0 (e.g. 2 or 0.5), got ${JSON.stringify(values.watch)}\n`);
      return STATUS_EXIT.usage;
    }
    const t = target(values);
    if ('problem' in t) {
      process.stderr.write(`gatehouse status: ${t.problem}\n`);
      return STATUS_EXIT.usage;
    }
    const json = values.json === true;
    return seconds === undefined ? once(t, timeoutMs, json) : watch(t, timeoutMs, json, seconds * 1000, String(values.watch));
  },
};
