import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import formbody from '@fastify/formbody';
import type { BruteForceProtector, TokenHandler } from '../auth/index.js';
import type { ContentService } from '../content/index.js';
import type { KeyIds } from '../crypto/index.js';
import { REPOSITORY_CHECK, type HealthRegistry } from '../health/index.js';
import { consoleRoutes, isValidCsrfToken, type ConsoleServices } from '../console/index.js';
import { registerAdminApi } from './admin-api.js';
import { installAccessLog } from './access-log.js';
import { installErrorHandling, type RepositoryUnavailableListener } from './errors.js';
import { tokenAuthPlugin } from './token-auth-plugin.js';
import { installOriginCheck } from './origin-check.js';
import { installRequestContext, REQUEST_ID_HEADER, requestIdOptions } from './request-id.js';
import { metricsRoutes, type Metrics } from './metrics.js';
import { authRoutes } from './routes/auth.js';
import { loginPageRoutes } from './routes/login-page.js';
import { oidcRoutes } from './routes/oidc.js';
import { samlRoutes } from './routes/saml.js';
import { samlLogoutAfterLogout } from './routes/saml-logout.js';
import { receiveRoutes } from './routes/receive.js';
import type { OidcLogin } from '../auth/oidc/index.js';
import type { SamlLogin, SingleLogout } from '../auth/saml/index.js';
import type { FarmMember } from '../member/index.js';
import type { Receiver } from '../replication/index.js';
import { contentRoutes } from './routes/content.js';
import { healthRoutes } from './routes/health.js';
import type { TrustedProxies } from './trusted-proxies.js';
import type { Log } from '../log.js';
import type { SessionRegistry } from '../sessions/registry-types.js';
import { sessionRoutes } from './routes/sessions.js';
import { sessionsPageRoutes } from './routes/sessions-page.js';

/**
 * What the HTTP app serves, every service built by the composition root (`instance/`). Only TLS
 * is optional: it is a choice of configuration (`--tls-cert`, `--tls-key`).
 */
export interface AppDeps {
  /** Read per response, so an instance listening on port 0 can name itself once bound. */
  readonly instanceName: () => string;
  readonly logger: FastifyBaseLogger;
  readonly health: HealthRegistry;
  readonly tokens: TokenHandler;
  /** Failed logins per account on the farm store (the admin API's unlock). */
  readonly bruteForce: BruteForceProtector;
  readonly content: ContentService;
  /** Applies the replication packages posted to `/bin/receive`. */
  readonly receiver: Receiver;
  /** What the farm's admin API reads and changes. */
  readonly farmMember: FarmMember;
  readonly reloadKeys: () => Promise<KeyIds>;
  /** The services the web console shows and changes. */
  readonly services: ConsoleServices;
  /** Every sign-in's session: what `/api/sessions`, "Your sessions", the console and the admin API show and end. */
  readonly sessions: SessionRegistry;
  /** OpenID Connect sign-in (its providers may be none: the login page then offers the password form alone). */
  readonly oidc: OidcLogin;
  readonly saml: SamlLogin;
  readonly samlLogout: SingleLogout;
  /** Whose X-Forwarded-For/-Proto to believe (configured; none by default). */
  readonly trustedProxies: TrustedProxies;
  /** True once the instance has begun to stop (`GET /system/health/ready` then answers 503). */
  readonly shuttingDown: () => boolean;
  /** The audit trail (logger name `audit`): logout-everywhere, console changes, the admin API. */
  readonly audit: Log;
  /** Prometheus metrics: request latency and `GET /system/metrics`. */
  readonly metrics: Metrics;
  /** Serve HTTPS with this certificate and key (PEM); plain HTTP without. */
  readonly tls?: TlsFiles;
  /** One log line per request (`--access-log`); off, no hook is registered for it. */
  readonly accessLog: boolean;
}

/** A certificate (chain) and its private key, PEM, as read from `--tls-cert` and `--tls-key`. */
export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Bodies above this are refused before parsing: no login form or token needs more. */
const BODY_LIMIT_BYTES = 1024 * 1024;

/** A request the repository failed takes the instance out of readiness now, not at the next check. */
function markRepositoryUnavailable(health: HealthRegistry): RepositoryUnavailableListener {
  return () => health.suspect(REPOSITORY_CHECK);
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // With `https` Fastify types the instance with an https server; every route here works on either.
  const app = Fastify({
    https: deps.tls ? { cert: deps.tls.cert, key: deps.tls.key } : null,
    loggerInstance: deps.logger,
    bodyLimit: BODY_LIMIT_BYTES,
    // A line per request would cost more than verifying its token; failures are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // A URL Fastify cannot decode is the client's mistake: 400 with the usual JSON body, not a 500.
    frameworkErrors: (error, request, reply) => {
      const badUrl = error.code === 'FST_ERR_BAD_URL';
      // Sent before any hook runs, so the instance header is added here. Fastify types this reply
      // with route generics that a framework error has none of.
      void (reply as unknown as FastifyReply)
        .code(400)
        .header('x-capsule-instance', deps.instanceName())
        .header(REQUEST_ID_HEADER, request.id)
        .send({
          error: {
            code: badUrl ? 'INVALID_PATH' : 'INVALID_ARGUMENT',
            message: badUrl ? "the URL has a malformed percent sequence (write a literal '%' as %25)" : error.message,
          },
        });
    },
    trustProxy: (address: string) => deps.trustedProxies.isTrusted(address),
    ...requestIdOptions(deps.trustedProxies),
  });
  installRequestContext(app);
  deps.metrics.instrument(app);
  if (deps.accessLog) installAccessLog(app, deps.logger);
  // Callback style, not async: every request runs this, and an async hook costs a promise.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('x-capsule-instance', deps.instanceName());
    done();
  });
  installErrorHandling(app, markRepositoryUnavailable(deps.health));
  installOriginCheck(app);
  await app.register(formbody);
  await app.register(tokenAuthPlugin(deps.tokens));
  healthRoutes(app, deps);
  metricsRoutes(app, deps);
  authRoutes(app, {
    tokens: deps.tokens,
    isValidCsrfToken: (loginToken, submitted) => isValidCsrfToken(deps.services.crypto, loginToken, submitted),
    afterLogout: samlLogoutAfterLogout(deps),
  });
  loginPageRoutes(app, deps);
  sessionRoutes(app, deps);
  sessionsPageRoutes(app, deps);
  oidcRoutes(app, deps);
  samlRoutes(app, deps);
  contentRoutes(app, deps);
  receiveRoutes(app, deps);
  await registerAdminApi(app, deps);
  await consoleRoutes(app, deps);
  return app;
}
