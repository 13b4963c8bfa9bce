import type { Repository } from '../repository/index.js';
import type { HealthCheck } from './registry.js';

/** The repository answers (PostgreSQL: a query on a pooled connection); names where it is, never a password. */
export function repositoryCheck(repo: Repository): HealthCheck {
  return {
    name: 'repository',
    title: 'Repository',
    readiness: true,
    async run() {
      const info = await repo.info();
      const where = info.backend === 'postgres' ? ` at ${info.location}` : '';
      return { status: 'ok', message: `${info.backend}${where}, ${info.nodeCount} nodes, ${Math.round(info.sizeBytes / 1024)} KiB` };
    },
  };
}
