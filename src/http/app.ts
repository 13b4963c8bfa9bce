import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { HealthRegistry } from '../health/index.js';
import { installErrorHandling } from './errors.js';
import { healthRoutes } from './routes/health.js';

export interface AppDeps {
  /** Read per response, so an instance listening on port 0 can name itself once bound. */
  readonly instanceName: () => string;
  readonly logger: FastifyBaseLogger;
  readonly health: HealthRegistry;
}

/** Bodies above this are refused before parsing: no login form or token needs more. */
const BODY_LIMIT_BYTES = 1024 * 1024;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: BODY_LIMIT_BYTES,
    // A line per request would cost more than verifying its token; failures are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: false,
  });
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('x-capsule-instance', deps.instanceName());
  });
  installErrorHandling(app);
  healthRoutes(app, deps);
  return app;
}
