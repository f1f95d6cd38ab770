// What happens to a PUBLISH from a client, decided from the topic contract (DESIGN.md section 2)
// and the client's ACL.
import { isServerTopic, type TopicClass } from '../topics.js';
import { validateTopicName, type Acl, type AclRefusal } from './acl.js';
import { topicTooLong } from './client-limits.js';

export type PublishDenyReason = 'invalid_topic' | 'topic_too_long' | 'system_topic' | 'reserved_topic' | AclRefusal;

export type PublishDecision =
  /** Ordinary traffic the ACL allows: route it. */
  | { action: 'allow' }
  /** A command attempt: handed to the pipeline, acknowledged, never routed or retained. */
  | { action: 'command'; kind: string; device: string; command: string; authorized: boolean }
  /** Refused: the connection is closed (MQTT-3.3.5-2) and nothing is stored. */
  | { action: 'deny'; reason: PublishDenyReason };

/** `maxTopicLength`: broker.limits.max_topic_length in bytes; no limit when absent. */
export function decidePublish(topic: string, classify: (topic: string) => TopicClass, acl: Acl, maxTopicLength?: number): PublishDecision {
  if (validateTopicName(topic) !== null) return { action: 'deny', reason: 'invalid_topic' };
  if (maxTopicLength !== undefined && topicTooLong(topic, maxTopicLength)) return { action: 'deny', reason: 'topic_too_long' };
  // '$' topics ($SYS/... included) belong to the server: MQTT 3.1.1 section 4.7.2 says the server
  // SHOULD prevent clients from using them to exchange messages. Whatever the ACL says.
  if (isServerTopic(topic)) return { action: 'deny', reason: 'system_topic' };
  const cls = classify(topic);
  switch (cls.type) {
    case 'reserved':
      return { action: 'deny', reason: 'reserved_topic' };
    case 'command':
      // A forbidden command still goes to the pipeline, which answers it with a `forbidden` result.
      return { action: 'command', kind: cls.kind, device: cls.device, command: cls.command, authorized: acl.canPublish(topic) };
    default: {
      const refusal = acl.publishRefusal(topic);
      return refusal === null ? { action: 'allow' } : { action: 'deny', reason: refusal };
    }
  }
}
