import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HealthRegistry, HealthSummary } from '../../health/index.js';
import { ADMINISTRATORS } from '../../users/index.js';

export interface HealthRouteDeps {
  readonly health: HealthRegistry;
  readonly instanceName: () => string;
  /** True once the instance has begun to stop: it is no longer ready for new work. */
  readonly shuttingDown: () => boolean;
}

/**
 * Three questions, three answers (200, or 503 when the answer is no):
 * - `GET /system/health/live`: the process runs and answers (restart it when this fails);
 * - `GET /system/health/ready`: this instance can serve logins — the readiness checks (keys,
 *   repository) are not critical and it is not shutting down (load balancers route on this);
 * - `GET /system/health`: every check, integrations included (for people and monitoring).
 * Anyone sees the status and the names of the checks; messages and details (which name endpoints,
 * key ids and what a provider answered) are for administrators.
 */
export function healthRoutes(app: FastifyInstance, deps: HealthRouteDeps): void {
  const answer = (request: FastifyRequest, reply: FastifyReply, summary: HealthSummary) => {
    reply.code(summary.status === 'critical' ? 503 : 200).header('cache-control', 'no-store');
    if (request.session?.groups.includes(ADMINISTRATORS)) return { instance: deps.instanceName(), ...summary };
    return { instance: deps.instanceName(), status: summary.status, checks: summary.checks.map((check) => ({ name: check.name })) };
  };

  app.get('/system/health', async (request, reply) => answer(request, reply, deps.health.summary()));

  app.get('/system/health/live', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { instance: deps.instanceName(), status: 'ok' };
  });

  // Probes that arrive together share one run of the checks they need.
  let rechecking: Promise<unknown> | null = null;
  app.get('/system/health/ready', async (request, reply) => {
    // A check a failed request asked for (health.suspect) answers for this probe.
    await deps.health.settled();
    let summary = deps.health.summary({ readiness: true });
    // Right after a start a readiness check may not have run yet: run it rather than guess. A
    // critical one (a request just found the repository away) is run again too, so the instance is
    // ready again as soon as it passes, not at the next scheduled run.
    const stale = summary.checks.filter((check) => check.checkedAt === '' || check.status === 'critical');
    if (stale.length > 0) {
      rechecking ??= Promise.all(stale.map((check) => deps.health.run(check.name))).finally(() => (rechecking = null));
      await rechecking;
      summary = deps.health.summary({ readiness: true });
    }
    if (deps.shuttingDown()) {
      summary = {
        status: 'critical',
        checks: [
          ...summary.checks,
          { name: 'shutdown', title: 'Shutdown', readiness: true, status: 'critical', message: 'this instance is shutting down', checkedAt: '', durationMs: 0 },
        ],
      };
    }
    return answer(request, reply, summary);
  });
}
