import type { Repository } from '../repository/index.js';
import type { HealthCheck } from './registry.js';

export const REPOSITORY_CHECK = 'repository';

/**
 * What a request that the repository failed is answered (503), and what readiness says until the
 * repository answers again: the cause, never where the repository is or how to sign in to it.
 */
export const REPOSITORY_UNAVAILABLE_MESSAGE = 'repository unavailable: this instance cannot use its repository now (unreachable, or too busy); try again shortly';

/** The repository answers (PostgreSQL: a query on a pooled connection); names where it is, never a password. */
export function repositoryCheck(repo: Repository): HealthCheck {
  return {
    name: REPOSITORY_CHECK,
    title: 'Repository',
    readiness: true,
    async run() {
      const info = await repo.info({ countNodes: false });
      const where = info.backend === 'postgres' ? ` at ${info.location}` : '';
      return { status: 'ok', message: `${info.backend}${where}, ${Math.round(info.sizeBytes / 1024)} KiB` };
    },
  };
}
