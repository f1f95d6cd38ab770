import { formatIssues, loadConfig, type GatehouseConfig, type LoadOptions } from '../config.js';

/** Load and validate a config, or print every problem and return undefined. */
export function loadOrReport(opts: LoadOptions, label: string): Readonly<GatehouseConfig> | undefined {
  const result = loadConfig(opts);
  if (result.ok) return result.config;
  process.stderr.write(`${label}: ${result.issues.length} problem${result.issues.length === 1 ? '' : 's'}:\n${formatIssues(result.issues)}\n`);
  return undefined;
}
