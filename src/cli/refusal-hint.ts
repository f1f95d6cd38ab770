// Why a client was refused, in words, for `gatehouse status`: the broker journals a short reason
// (`acl`, `bad_password`, ...); a technician with a typo in a topic needs to be told which part is wrong.
import type { RecentRefusal } from '../metrics/recent-activity.js';
import { siteOfTopic } from '../topics.js';

const REASONS: Record<string, string> = {
  bad_password: 'wrong password',
  unknown_user: 'no such user in the config',
  missing_password: 'a username without a password',
  anonymous_disabled: 'no username, and broker.anonymous.enabled is false',
  locked_out: 'too many failed logins: locked out for now (broker.login)',
  will_denied: 'the client\'s will topic is one it may not publish to',
  will_on_command_topic: 'a will may not be a command',
  certificate_mismatch: 'the username differs from the one its client certificate names',
  unknown_certificate_user: 'its client certificate names no user of the config',
  certificate_without_identity: 'its client certificate has no field naming a user (broker.tls.identity_from)',
  reserved_topic: 'result, state, availability, event, image and gateway topics are published by gatehouse only',
  system_topic: '$ topics belong to the broker',
  invalid_topic: 'not a valid MQTT topic',
  invalid_filter: 'not a valid MQTT topic filter',
  topic_too_long: 'longer than broker.limits.max_topic_length',
  max_subscriptions: 'the client holds broker.limits.max_subscriptions already',
};

/** A sentence on why, or undefined when the reason says it all. */
export function refusalHint(refusal: Pick<RecentRefusal, 'type' | 'topic' | 'reason' | 'username'>, site: string): string | undefined {
  const { type, topic, reason } = refusal;
  if ((type === 'publish_denied' || type === 'subscribe_denied') && topic !== undefined && reason === 'acl') {
    const named = siteOfTopic(topic);
    if (named !== undefined && named !== site && !/[+#]/.test(named)) return `the topic names site "${named}"; this gateway serves site "${site}"`;
    const who = refusal.username === undefined ? 'anonymous clients' : `user ${refusal.username}`;
    const list = refusal.username === undefined ? `broker.anonymous.${type === 'publish_denied' ? 'publish' : 'subscribe'}` : `that user's ${type === 'publish_denied' ? 'publish' : 'subscribe'} list`;
    return `${who} may not ${type === 'publish_denied' ? 'publish to' : 'subscribe to'} it (${list} in the config)`;
  }
  if ((type === 'publish_denied' || type === 'subscribe_denied') && reason === 'acl_deny') {
    const list = refusal.username === undefined ? 'broker.anonymous.deny' : `the deny list of user ${refusal.username}`;
    return `a filter of ${list} in the config covers it`;
  }
  if (reason.startsWith('tls_handshake')) return 'the TLS handshake failed (certificate, CA or protocol)';
  return REASONS[reason];
}
