import { get } from 'node:http';
import { loadConfig, formatIssues } from '../config.js';
import { parseTextFormat } from '../metrics/text-format.js';
import type { CliCommand } from './index.js';
import { formatStatus, summarize, type HealthAnswer } from './status-report.js';

/** Exit codes: 0 healthy, 1 reachable but unhealthy, 2 usage or config problem, 3 gateway unreachable. */
export const STATUS_EXIT = { healthy: 0, unhealthy: 1, usage: 2, unreachable: 3 } as const;

export const DEFAULT_TIMEOUT_MS = 5000;

class Unreachable extends Error {}

interface HttpAnswer {
  status: number;
  body: string;
}

function httpGet(url: string, timeoutMs: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    // agent false: one connection per request, nothing kept alive to hold the process open.
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
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

/** The metrics base URL from --url, --config FILE (metrics.host and metrics.port), or the defaults and GATEHOUSE_METRICS_* variables. */
function baseUrl(values: Record<string, string | boolean | undefined>): { url: string } | { problem: string } {
  if (typeof values.url === 'string') {
    let url: URL;
    try {
      url = new URL(values.url);
    } catch {
      return { problem: `--url ${JSON.stringify(values.url)} is not a URL (e.g. http://127.0.0.1:9464)` };
    }
    if (url.protocol !== 'http:') return { problem: `--url must be http://host:port, not ${url.protocol}` };
    return { url: `${url.origin}${url.pathname.replace(/\/(metrics|healthz)?\/?$/, '')}` };
  }
  const loaded = loadConfig(typeof values.config === 'string' ? { file: values.config } : { document: { site: 'status' } });
  if (!loaded.ok) return { problem: `${values.config}: ${loaded.issues.length} problem(s):\n${formatIssues(loaded.issues)}` };
  const { enabled, host, port } = loaded.config.metrics;
  const source = typeof values.config === 'string' ? values.config : 'the defaults';
  if (!enabled) return { problem: `metrics are disabled in ${source} (metrics.enabled: false); the gateway serves no status` };
  if (port === 0) return { problem: `metrics.port is 0 in ${source} (a free port picked at each start): pass --url with the port of the gateway's "metrics listening" log line` };
  // A wildcard bind is reached over loopback.
  const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return { url: `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}` };
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

/** `gatehouse status [--url URL | --config FILE] [--json] [--timeout MS]`: a one-screen summary of a running gateway. */
export const status: CliCommand = {
  async run(values) {
    const timeoutMs = values.timeout === undefined ? DEFAULT_TIMEOUT_MS : Number(values.timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
      process.stderr.write(`gatehouse status: --timeout must be a positive number of milliseconds, got ${JSON.stringify(values.timeout)}\n`);
      return STATUS_EXIT.usage;
    }
    const base = baseUrl(values);
    if ('problem' in base) {
      process.stderr.write(`gatehouse status: ${base.problem}\n`);
      return STATUS_EXIT.usage;
    }
    let health: HealthAnswer;
    let metricsText: string;
    try {
      health = parseHealth(await httpGet(`${base.url}/healthz`, timeoutMs));
      const metrics = await httpGet(`${base.url}/metrics`, timeoutMs);
      if (metrics.status !== 200) throw new Unreachable(`${base.url}/metrics answered HTTP ${metrics.status}: ${metrics.body.trim().slice(0, 200)}`);
      metricsText = metrics.body;
    } catch (err) {
      if (!(err instanceof Unreachable)) throw err;
      process.stderr.write(`gatehouse status: UNREACHABLE: ${err.message}\n`);
      return STATUS_EXIT.unreachable;
    }
    let summary;
    try {
      summary = summarize(base.url, parseTextFormat(metricsText), health);
    } catch (err) {
      process.stderr.write(`gatehouse status: ${base.url}/metrics is not Prometheus text: ${(err as Error).message}\n`);
      return STATUS_EXIT.unreachable;
    }
    process.stdout.write(values.json ? JSON.stringify(summary) + '\n' : formatStatus(summary));
    if (!summary.healthy) {
      process.stderr.write(`gatehouse status: UNHEALTHY: ${summary.health_reasons.join('; ') || `/healthz answered HTTP ${health.httpStatus}`}\n`);
      return STATUS_EXIT.unhealthy;
    }
    return STATUS_EXIT.healthy;
  },
};
