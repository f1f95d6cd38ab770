import type { GatehouseConfig } from '../config.js';

/** The command pipeline's policy from the `commands` section. */
export function commandPolicy(config: Readonly<GatehouseConfig>): { maxAgeMs: number; clockSkewMs: number; queueLimit: number } {
  return { maxAgeMs: config.commands.max_age_ms, clockSkewMs: config.commands.clock_skew_ms, queueLimit: config.commands.queue_limit };
}
