import type { FastifyInstance } from 'fastify';
import type { HealthRegistry } from '../../health/index.js';
import { ADMINISTRATORS } from '../../users/index.js';

/**
 * `GET /system/health`: 200 unless a check is critical (503), for load balancers. Anyone sees
 * the overall status and the names of the checks; messages and details (which name endpoints,
 * key ids and what a provider answered) are for administrators.
 */
export function healthRoutes(app: FastifyInstance, deps: { health: HealthRegistry; instanceName: () => string }): void {
  app.get('/system/health', async (request, reply) => {
    const summary = deps.health.summary();
    reply.code(summary.status === 'critical' ? 503 : 200).header('cache-control', 'no-store');
    if (request.session?.groups.includes(ADMINISTRATORS)) return { instance: deps.instanceName(), ...summary };
    return { instance: deps.instanceName(), status: summary.status, checks: summary.checks.map((check) => ({ name: check.name })) };
  });
}
