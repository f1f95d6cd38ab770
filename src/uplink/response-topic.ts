// Which MQTT 5 Response Topics a cloud command may name (MQTT 5 section 4.10). The gateway publishes
// the command's result there, so the topic must never let the cloud make the gateway speak where it
// must not: no wildcards, nothing of the broker's ($...), no command topic of any site (a result
// there would be a command), no topic only gatehouse publishes, and nothing of another site.
// Ordinary topics of our own site and topics outside every site's tree are allowed; whether the
// gateway may publish there is the cloud ACL's decision (a refusal comes back as PUBACK 0x87).

import { topicMatches, validateTopicName } from '../mqtt-topic.js';
import { classifyTopic, topics } from '../topics.js';

/** Why this Response Topic is refused, or undefined when results may go there. */
export function responseTopicProblem(site: string, topic: string): string | undefined {
  // MQTT-3.3.2-14: a Response Topic is a Topic Name (no wildcards).
  const invalid = validateTopicName(topic);
  if (invalid) return invalid;
  if (topic.startsWith('$')) return 'topics beginning with $ belong to the broker';
  if (!topicMatches(topics.siteTree('+'), topic)) return undefined;
  if (!topicMatches(topics.siteTree(site), topic)) return `it is in another site's namespace (${topics.siteTree('+')}); this gateway is site ${site}`;
  const target = classifyTopic(site, topic);
  if (target.type === 'command') return 'it is a command topic; a result published there would be taken as a command';
  if (target.type === 'reserved') return 'only gatehouse publishes there (result, state, availability, event, image and the gateway topics)';
  return undefined;
}
