import type { FastifyInstance } from 'fastify';
import { createAdminKeyStore, type BruteForceProtector, type TokenHandler } from '../auth/index.js';
import type { Clock } from '../clock.js';
import type { Repository } from '../repository/index.js';
import type { KeyIds } from '../crypto/index.js';
import type { FarmMember } from '../member/index.js';
import { FARM_PATH_PREFIX } from '../member/protocol.js';
import type { Log } from '../log.js';
import type { SessionRegistry } from '../sessions/registry-types.js';
import type { UserManager } from '../users/index.js';
import { adminKeyOf, authenticateAdminKey } from './admin-key-auth.js';
import { answerNotFound } from './errors.js';
import { CROSS_ORIGIN_REFUSED, requestOrigin } from './origin-check.js';
import { requireAdministrator } from './guards.js';
import { adminRoutes } from './routes/admin.js';
import { adminKeyRoutes } from './routes/admin-keys.js';
import { farmRoutes } from './routes/farm.js';
import { logoutEverywhereRoute } from './routes/logout-everywhere.js';
import { unlockRoute } from './routes/unlock.js';
import { userListRoutes } from './routes/user-lists.js';
import { userSessionRoutes } from './routes/user-sessions.js';

export interface AdminApiDeps {
  readonly farmMember: FarmMember;
  readonly reloadKeys: () => Promise<KeyIds>;
  readonly tokens: TokenHandler;
  /** Failed logins per account: unlock. */
  readonly bruteForce: BruteForceProtector;
  readonly audit: Log;
  /** Anyone's sessions: list and end them. */
  readonly sessions: SessionRegistry;
  /** Where the admin API keys are (admin-key-auth.ts); the users whose sessions are asked for. */
  readonly services: { readonly repo: Repository; readonly clock: Clock; readonly users: UserManager };
}

/** A refused call is named for what it was: a farm call, or another of the admin API's. */
function refusalEventOf(url: string): { event: string; message: string } {
  const path = url.split('?')[0] ?? url;
  return path === FARM_PATH_PREFIX || path.startsWith(`${FARM_PATH_PREFIX}/`)
    ? { event: 'farm-call-refused', message: 'farm: call refused' }
    : { event: 'admin-call-refused', message: 'admin API: call refused' };
}

/**
 * The JSON admin API (the farm's calls under /system/farm, the key refresh, logout-everywhere):
 * administrators only (a session, or an operator's API key: admin-key-auth.ts), in one encapsulated scope, as the console has its own. Its guard runs
 * before a body is even read, so no route can act first and refuse after; its audit hook records
 * every refused call (who tried what, from where). A granted farm call or logout-everywhere is
 * recorded by its route with what it did and by whom; a granted key refresh is recorded by the
 * instance's reloadKeys as `keys-reloaded` (the key ids, not the caller: the same reload follows
 * a keys counter change).
 * POSTs meet the origin check every POST meets (origin-check.ts) before this scope's hooks; a
 * read another site started (Origin or Sec-Fetch-Site) is refused here.
 */
export async function registerAdminApi(app: FastifyInstance, deps: AdminApiDeps): Promise<void> {
  const adminKeys = createAdminKeyStore(deps.services);
  await app.register(async (scope) => {
    scope.addHook('onRequest', (request, reply, done) => {
      // No other site has a reason to call the admin API, reading included (a users list, sessions):
      // the app's origin check refuses cross-site writes; this scope refuses cross-site reads too.
      if (requestOrigin(request) === 'cross') {
        void reply.code(403).send({ error: { code: 'FORBIDDEN', message: CROSS_ORIGIN_REFUSED } });
        return;
      }
      const key = adminKeyOf(request);
      if (key === null) {
        requireAdministrator(request);
        return done();
      }
      authenticateAdminKey(request, key, { adminKeys, audit: deps.audit }).then(() => {
        requireAdministrator(request);
        done();
      }, done);
    });
    // Callback style, not async: most responses return at once.
    scope.addHook('onResponse', (request, reply, done) => {
      if (reply.statusCode >= 400) {
        const { event, message } = refusalEventOf(request.url);
        deps.audit.warn(
          { event, method: request.method, path: request.url, status: reply.statusCode, by: request.session?.userId ?? null, clientAddress: request.ip },
          message,
        );
      }
      done();
    });
    farmRoutes(scope, deps);
    adminRoutes(scope, deps);
    logoutEverywhereRoute(scope, deps);
    unlockRoute(scope, deps);
    userSessionRoutes(scope, deps);
    userListRoutes(scope, deps);
    adminKeyRoutes(scope, { adminKeys, audit: deps.audit });
    // A path under /system/farm that no route serves is answered inside this scope, so the guard
    // and the audit cover it too: an anonymous caller learns nothing of which paths exist (401).
    await scope.register(
      async (farm) => {
        farm.setNotFoundHandler(answerNotFound);
      },
      { prefix: FARM_PATH_PREFIX },
    );
  });
}
