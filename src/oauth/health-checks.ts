import type { ConfigAdmin } from '../config/index.js';
import { watchFactoryChecks, type HealthCheck, type HealthRegistry } from '../health/index.js';
import { clientNameOf, OAUTH_CLIENT_PID, oauthClientPid } from './oauth-config.js';
import type { OAuthClients } from './types.js';

/** The health check of one configuration; its name is the configuration's PID. */
export function oauthClientCheck(name: string, clients: OAuthClients): HealthCheck {
  return {
    name: oauthClientPid(name),
    title: `OAuth client ${name}`,
    async run() {
      const { status, message } = await clients.check(name);
      return { status, message };
    },
  };
}

/** One health check per `capsule.oauth.client~NAME`, added, re-run and removed as configurations change. */
export function watchOAuthClientChecks(deps: { health: HealthRegistry; config: ConfigAdmin; clients: OAuthClients }): () => void {
  return watchFactoryChecks(deps.health, deps.config, {
    factoryPid: OAUTH_CLIENT_PID,
    names: () => deps.clients.names(),
    nameOf: clientNameOf,
    checkOf: (name) => oauthClientCheck(name, deps.clients),
  });
}
