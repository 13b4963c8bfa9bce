import type { FastifyInstance } from 'fastify';
import type { HealthRegistry } from '../../health/index.js';

/** `GET /system/health`: 200 unless a check is critical (503), for load balancers. */
export function healthRoutes(app: FastifyInstance, deps: { health: HealthRegistry; instanceName: () => string }): void {
  app.get('/system/health', async (_request, reply) => {
    const summary = deps.health.summary();
    return reply.code(summary.status === 'critical' ? 503 : 200).send({ instance: deps.instanceName(), ...summary });
  });
}
