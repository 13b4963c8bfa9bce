import type { ConfigAdmin } from '../config/index.js';
import type { HealthCheck, HealthRegistry } from '../health/index.js';
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

/**
 * Keeps one health check per OAuth client configuration: registered for those stored now,
 * added, re-run and removed as configurations change. Runs are never awaited here, so a slow
 * token endpoint delays nobody. Returns a function that stops watching.
 */
export function watchOAuthClientChecks(deps: { health: HealthRegistry; config: ConfigAdmin; clients: OAuthClients }): () => void {
  const registered = new Set<string>();
  const register = (name: string) => {
    registered.add(oauthClientPid(name));
    deps.health.register(oauthClientCheck(name, deps.clients)); // a started registry runs it at once
  };
  for (const name of deps.clients.names()) register(name);

  const stop = deps.config.onChange(OAUTH_CLIENT_PID, (pid, values) => {
    const name = clientNameOf(pid);
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
