import type { ConfigAdmin } from '../../config/index.js';
import type { HealthCheck, HealthRegistry } from '../../health/index.js';
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
  const registered = new Set<string>();
  const register = (name: string) => {
    registered.add(oidcPid(name));
    deps.health.register(oidcCheck(name, deps.oidc));
  };
  for (const name of deps.oidc.names()) register(name);
  const stop = deps.config.onChange(OIDC_PID, (pid, values) => {
    const name = providerNameOf(pid);
    if (name === null) return;
    if (values === null) {
      registered.delete(pid);
      deps.health.unregister(pid);
    } else if (registered.has(pid)) {
      void deps.health.run(pid);
    } else {
      register(name);
    }
  });
  return () => {
    stop();
    for (const pid of registered) deps.health.unregister(pid);
    registered.clear();
  };
}
