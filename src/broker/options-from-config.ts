// The broker's options from the config's broker and users sections.
import type { GatehouseConfig } from '../config.js';
import { brokerLimitsFromConfig, loginLimitsFromConfig } from './client-limits.js';
import type { BrokerOptions } from './options.js';

export function brokerOptionsFromConfig(config: Readonly<GatehouseConfig>): BrokerOptions {
  const { tls } = config.broker;
  return {
    host: config.broker.host,
    port: config.broker.port,
    anonymous: { ...config.broker.anonymous },
    users: config.users.map((u) => ({ ...u })),
    limits: brokerLimitsFromConfig(config.broker.limits),
    login: loginLimitsFromConfig(config.broker.login),
    listeners: {
      tcp: { enabled: config.broker.tcp_enabled },
      tls: { enabled: tls.enabled, host: tls.host, port: tls.port },
      ws: { ...config.broker.ws },
      certificates: { cert: tls.cert, key: tls.key, ca: tls.ca || undefined, clientCertificates: tls.client_certificates, identityFrom: tls.identity_from },
    },
  };
}
