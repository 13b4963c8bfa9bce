import type { ConfigAdmin } from '../../config/index.js';
import { watchFactoryChecks, type HealthCheck, type HealthRegistry } from '../../health/index.js';
import { OIDC_PID, oidcPid, providerNameOf } from './oidc-config.js';
import type { OidcLogin } from './oidc-login.js';

/** The health check of one provider; its name is the configuration's PID. */
export function oidcCheck(name: string, oidc: OidcLogin): HealthCheck {
  return {
    name: oidcPid(name),
    title: `OpenID provider ${name}`,
    async run() {
      const { status, message } = await oidc.check(name);
      return { status, message };
    },
  };
}

/** One health check per `capsule.auth.oidc~NAME`, added, re-run and removed as configurations change. */
export function watchOidcChecks(deps: { health: HealthRegistry; config: ConfigAdmin; oidc: OidcLogin }): () => void {
  return watchFactoryChecks(deps.health, deps.config, {
    factoryPid: OIDC_PID,
    names: () => deps.oidc.names(),
    nameOf: providerNameOf,
    checkOf: (name) => oidcCheck(name, deps.oidc),
  });
}
