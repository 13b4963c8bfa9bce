import type { ConfigAdmin } from '../config/index.js';
import type { HealthCheck, HealthRegistry } from './registry.js';

/** One kind of factory configuration (`FACTORY~NAME`) that has a health check per configuration. */
export interface FactoryChecks {
  /** The factory PID, e.g. `capsule.oauth.client`. */
  readonly factoryPid: string;
  /** The names configured now. */
  names(): readonly string[];
  /** NAME of a `FACTORY~NAME` PID, or null for a PID of another factory. */
  nameOf(pid: string): string | null;
  /** The check of one configuration; its name is the configuration's PID. */
  checkOf(name: string): HealthCheck;
}

/**
 * Keeps one health check per factory configuration: registered for those stored now, added,
 * re-run and removed as configurations change. Runs are never awaited here, so a slow third
 * party delays nobody. Returns a function that stops watching.
 */
export function watchFactoryChecks(health: HealthRegistry, config: ConfigAdmin, factory: FactoryChecks): () => void {
  const registered = new Set<string>();
  const register = (name: string) => {
    const check = factory.checkOf(name);
    registered.add(check.name);
    health.register(check); // a started registry runs it at once
  };
  for (const name of factory.names()) register(name);

  const stop = config.onChange(factory.factoryPid, (pid, values) => {
    const name = factory.nameOf(pid);
    if (name === null) return;
    if (values === null) {
      registered.delete(pid);
      health.unregister(pid);
    } else if (registered.has(pid)) {
      void health.run(pid);
    } else {
      register(name);
    }
  });
  return () => {
    stop();
    for (const pid of registered) health.unregister(pid);
    registered.clear();
  };
}
