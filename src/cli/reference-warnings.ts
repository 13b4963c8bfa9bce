import { unresolvedReferences } from '../config/index.js';
import type { Services } from '../instance/services.js';

/**
 * The references of a stored configuration that this shell cannot resolve. Not an error: the
 * server resolves them in its own environment (a systemd EnvironmentFile, a Kubernetes Secret),
 * which the operator's shell rarely has.
 */
export function referenceWarnings(services: Services, pid: string, env: NodeJS.ProcessEnv): string[] {
  const stored = services.config.stored(pid);
  return stored === null ? [] : unresolvedReferences(pid, services.config.componentOf(pid), stored, env);
}

/** The one line a command prints for them. */
export function referenceWarningLine(warnings: readonly string[]): string {
  return `warning: ${warnings.map((warning) => `${warning} here`).join('; ')}; stored anyway: the instance that uses it must have it (its environment, or CAPSULE_SECRETS_DIR)`;
}
