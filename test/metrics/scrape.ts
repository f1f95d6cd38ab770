// Real HTTP requests to a gateway's metrics server, for the metrics, healthz and status tests.
import { request } from 'node:http';
import { parseTextFormat, type Sample } from '../../src/metrics/text-format.js';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a fresh connection; rejects after `timeoutMs` without an answer. */
export function httpRequest(port: number, path: string, opts: { method?: string; timeoutMs?: number } = {}): Promise<HttpAnswer> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${opts.method ?? 'GET'} ${path} on port ${port} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** GET /metrics, parsed. */
export async function scrape(port: number): Promise<Sample[]> {
  const answer = await httpRequest(port, '/metrics');
  if (answer.status !== 200) throw new Error(`/metrics answered ${answer.status}: ${answer.body}`);
  return parseTextFormat(answer.body);
}

/** GET /healthz with its JSON body. */
export async function healthz(port: number, timeoutMs?: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await httpRequest(port, '/healthz', { timeoutMs });
  return { status: answer.status, body: JSON.parse(answer.body) as Record<string, unknown> };
}

/** The value of the one sample named `name` with exactly these labels (among others); throws when absent. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return found[0].value;
}
