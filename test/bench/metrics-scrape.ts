// Reads single figures from the gateway's own Prometheus endpoint (prom-client's default metrics).

export async function scrapeMetrics(base: string): Promise<Map<string, number>> {
  const response = await fetch(`${base}/metrics`);
  if (!response.ok) throw new Error(`GET ${base}/metrics: HTTP ${response.status}`);
  const figures = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match && match[2] === undefined) figures.set(match[1]!, Number(match[3]));
  }
  return figures;
}
