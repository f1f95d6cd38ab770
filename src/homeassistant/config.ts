// The `homeassistant` section: MQTT discovery for Home Assistant (src/extensions/homeassistant.ts).
import type { ConfigIssue } from '../driver-api.js';
import { BOOLEAN } from '../config/formats.js';
import { validateTopicName } from '../mqtt-topic.js';
import { foreignPrefixProblem } from '../topics.js';

export interface HomeAssistantConfig {
  enabled: boolean;
  /** HA's discovery prefix: configs go to {prefix}/device/{object_id}/config, HA's birth comes on {prefix}/status. */
  prefix: string;
}

type EnvName = (path: string) => string;

export function homeAssistantSchema(env: EnvName) {
  return {
    enabled: { doc: 'Publish Home Assistant MQTT discovery configs (retained) for every device on the local broker.', format: BOOLEAN, default: false, env: env('homeassistant.enabled') },
    prefix: { doc: 'Home Assistant\'s MQTT discovery prefix.', format: String, default: 'homeassistant', env: env('homeassistant.prefix') },
  };
}

/** The prefix must be a topic name without wildcards, not a `$` topic, and outside `site/`. */
export function validateHomeAssistant(config: HomeAssistantConfig, issues: ConfigIssue[]): void {
  const { prefix } = config;
  const problem = validateTopicName(prefix);
  if (problem) issues.push({ path: 'homeassistant.prefix', message: `${JSON.stringify(prefix)}: ${problem}` });
  else {
    const foreign = foreignPrefixProblem(prefix);
    if (foreign) issues.push({ path: 'homeassistant.prefix', message: `${JSON.stringify(prefix)}: ${foreign}` });
  }
}
