// One configuration reload from the files: what SIGHUP does (src/cli/service.ts) and what the
// gateway's `reload` command does (src/gateway/gateway-commands.ts). Re-read and validate the
// config; an invalid one is refused whole and the running one stays; a valid one is applied by the
// gateway (src/gateway/reload-coordinator.ts). The outcome says which.
import type { ConfigIssue, GatehouseConfig, LoadResult } from '../config.js';
import type { Logger } from '../log.js';
import type { ReloadPlan } from './reload.js';

export type ReloadOutcome =
  | { applied: true; plan: ReloadPlan }
  /** The files did not validate: every problem, each under its key. */
  | { applied: false; issues: ConfigIssue[] }
  /** Valid, but the gateway could not apply it (it is not running). */
  | { applied: false; error: string };

export async function reloadConfiguration(
  /** `reloadFailed`, where the gateway has it, tells its extensions that a reload did not apply, and why. */
  gateway: { reload(next: Readonly<GatehouseConfig>): Promise<ReloadPlan>; reloadFailed?(errors: string[]): void },
  readConfig: () => LoadResult,
  log: Pick<Logger, 'info' | 'warn' | 'error'>,
  trigger: string,
): Promise<ReloadOutcome> {
  log.info({ trigger }, `reloading configuration (${trigger})`);
  const loaded = readConfig();
  if (!loaded.ok) {
    const problems = loaded.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    log.error({ issues: loaded.issues, trigger }, `configuration reload rejected, the running configuration stays: ${problems}`);
    gateway.reloadFailed?.(loaded.issues.map((i) => `${i.path}: ${i.message}`));
    return { applied: false, issues: loaded.issues };
  }
  try {
    const plan = await gateway.reload(loaded.config);
    if (plan.needsRestart.length > 0) {
      log.warn({ keys: plan.needsRestart }, `changed keys need a restart and keep their running values until then: ${plan.needsRestart.join(', ')}`);
    }
    return { applied: true, plan };
  } catch (err) {
    log.error({ err, trigger }, 'configuration reload failed');
    gateway.reloadFailed?.([err instanceof Error ? err.message : String(err)]);
    return { applied: false, error: err instanceof Error ? err.message : String(err) };
  }
}
