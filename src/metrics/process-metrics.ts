import { collectDefaultMetrics, Registry } from 'prom-client';

let registry: Registry | undefined;

/**
 * The sampling period of prom-client's event-loop delay monitor (nodejs_eventloop_lag_p50_seconds
 * and the like), ms. prom-client's default of 10 wakes an idle gateway 100 times a second, about
 * 8 ms of CPU per second on a 2-core VM (an idle gateway with 50 polled gates uses about 13); at
 * 100 it is about 1 ms.
 * The monitor's min, mean and percentiles include this period (they read about 0.1 s on an idle
 * loop); gatehouse_event_loop_lag_recent_max_seconds and /healthz do not use it.
 */
export const EVENT_LOOP_MONITOR_RESOLUTION_MS = 100;

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
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_MONITOR_RESOLUTION_MS });
  }
  return registry;
}
