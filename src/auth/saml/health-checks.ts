import type { Clock } from '../../clock.js';
import type { ConfigAdmin } from '../../config/index.js';
import type { CryptoSupport } from '../../crypto/index.js';
import { watchFactoryChecks, type HealthCheck, type HealthRegistry } from '../../health/index.js';
import { checkSamlProviderWithMetadata } from './check.js';
import { fetchIdpMetadata, type IdpMetadataFetch } from './metadata-fetch.js';
import { SAML_PID, samlPid, samlProviderNameOf } from './saml-config.js';
import type { SamlLogin } from './saml-login.js';

export interface SamlCheckDeps {
  readonly saml: SamlLogin;
  readonly crypto: CryptoSupport;
  readonly clock: Clock;
  /** Default: over the network, 10 s for the whole fetch. */
  readonly fetchMetadata?: IdpMetadataFetch;
}

/**
 * The health check of one provider; its name is the configuration's PID. Not a readiness check:
 * an IdP (or its metadata host) that is away must not take this instance out of a load balancer.
 */
export function samlCheck(name: string, deps: SamlCheckDeps): HealthCheck {
  const fetchMetadata = deps.fetchMetadata ?? ((url: string) => fetchIdpMetadata(url));
  return {
    name: samlPid(name),
    title: `SAML identity provider ${name}`,
    async run() {
      const { status, message } = await checkSamlProviderWithMetadata(name, () => deps.saml.settings(name), { ...deps, fetchMetadata });
      return { status, message };
    },
  };
}

/** One health check per `capsule.auth.saml~NAME`, added, re-run and removed as configurations change. */
export function watchSamlChecks(deps: SamlCheckDeps & { health: HealthRegistry; config: ConfigAdmin }): () => void {
  return watchFactoryChecks(deps.health, deps.config, {
    factoryPid: SAML_PID,
    names: () => deps.saml.names(),
    nameOf: samlProviderNameOf,
    checkOf: (name) => samlCheck(name, deps),
  });
}
