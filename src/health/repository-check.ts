import type { Repository } from '../repository/index.js';
import type { HealthCheck } from './registry.js';

export function repositoryCheck(repo: Repository): HealthCheck {
  return {
    name: 'repository',
    title: 'Repository',
    readiness: true,
    async run() {
      const info = await repo.info();
      return { status: 'ok', message: `${info.backend}, ${info.nodeCount} nodes, ${Math.round(info.sizeBytes / 1024)} KiB` };
    },
  };
}
