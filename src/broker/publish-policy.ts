// What happens to a PUBLISH from a client, decided from the topic contract (DESIGN.md section 2)
// and the client's ACL.
import type { TopicClass } from '../topics.js';
import { validateTopicName, type Acl } from './acl.js';

export type PublishDenyReason = 'invalid_topic' | 'system_topic' | 'reserved_topic' | 'acl';

export type PublishDecision =
  /** Ordinary traffic the ACL allows: route it. */
  | { action: 'allow' }
  /** A command attempt: handed to the pipeline, acknowledged, never routed or retained. */
  | { action: 'command'; kind: string; device: string; command: string; authorized: boolean }
  /** Refused: the connection is closed (MQTT-3.3.5-2) and nothing is stored. */
  | { action: 'deny'; reason: PublishDenyReason };

export function decidePublish(topic: string, classify: (topic: string) => TopicClass, acl: Acl): PublishDecision {
  if (validateTopicName(topic) !== null) return { action: 'deny', reason: 'invalid_topic' };
  // '$' topics belong to the server (MQTT 4.7.2); clients never publish there.
  if (topic.startsWith('$')) return { action: 'deny', reason: 'system_topic' };
  const cls = classify(topic);
  switch (cls.type) {
    case 'reserved':
      return { action: 'deny', reason: 'reserved_topic' };
    case 'command':
      // A forbidden command still goes to the pipeline, which answers it with a `forbidden` result.
      return { action: 'command', kind: cls.kind, device: cls.device, command: cls.command, authorized: acl.canPublish(topic) };
    default:
      return acl.canPublish(topic) ? { action: 'allow' } : { action: 'deny', reason: 'acl' };
  }
}
