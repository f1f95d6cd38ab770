import { collectDefaultMetrics, Registry } from 'prom-client';

let registry: Registry | undefined;

/**
 * prom-client's default process and Node.js metrics (process_cpu_seconds_total,
 * process_resident_memory_bytes, nodejs_eventloop_lag_seconds, nodejs_gc_duration_seconds, ...),
 * under their standard names, in a registry of their own created once per process: they describe
 * the process, and collectDefaultMetrics installs a GC observer and an event-loop monitor it never
 * removes, so calling it for every gateway instance (tests run many) would pile them up.
 */
export function processMetricsRegistry(): Registry {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry;
}
