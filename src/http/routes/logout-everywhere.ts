import type { FastifyInstance } from 'fastify';
import type { TokenHandler } from '../../auth/index.js';
import type { Log } from '../../log.js';

/**
 * Ends every token of a user, registered inside the admin API's scope (http/admin-api.ts:
 * administrators only, refused calls audited there); a granted call is audited here, with whom.
 */
export function logoutEverywhereRoute(scope: FastifyInstance, deps: { tokens: TokenHandler; audit: Log }): void {
  scope.post<{ Params: { id: string } }>('/api/users/:id/logout-everywhere', async (request) => {
    const result = await deps.tokens.logoutEverywhere(request.params.id);
    deps.audit.info(
      { event: 'logout-everywhere', userId: request.params.id, by: request.session?.userId, clientAddress: request.ip },
      'logged out everywhere',
    );
    return { userId: request.params.id, ...result };
  });
}
