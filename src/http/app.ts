import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import { tokenAuthPlugin, type TokenHandler } from '../auth/index.js';
import type { ContentService } from '../content/index.js';
import type { KeyIds } from '../crypto/index.js';
import type { HealthRegistry } from '../health/index.js';
import { consoleRoutes, type ConsoleServices } from '../console/index.js';
import { installErrorHandling } from './errors.js';
import { adminRoutes } from './routes/admin.js';
import { authRoutes } from './routes/auth.js';
import { loginPageRoutes } from './routes/login-page.js';
import { oidcRoutes } from './routes/oidc.js';
import type { OidcLogin } from '../auth/oidc/index.js';
import { contentRoutes } from './routes/content.js';
import { healthRoutes } from './routes/health.js';

export interface AppDeps {
  /** Read per response, so an instance listening on port 0 can name itself once bound. */
  readonly instanceName: () => string;
  readonly logger: FastifyBaseLogger;
  readonly health: HealthRegistry;
  readonly tokens: TokenHandler;
  readonly content: ContentService;
  readonly reloadKeys: () => Promise<KeyIds>;
  /** The services the web console shows and changes; without them there is no console. */
  readonly services?: ConsoleServices;
  /** OpenID Connect sign-in; without it the login page offers the password form alone. */
  readonly oidc?: OidcLogin;
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
  await app.register(formbody);
  await app.register(tokenAuthPlugin(deps.tokens));
  healthRoutes(app, deps);
  authRoutes(app, deps);
  loginPageRoutes(app, deps);
  oidcRoutes(app, deps);
  contentRoutes(app, deps);
  adminRoutes(app, deps);
  await consoleRoutes(app, deps);
  return app;
}
