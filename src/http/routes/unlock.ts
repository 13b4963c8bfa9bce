import type { FastifyInstance } from 'fastify';
import type { BruteForceProtector } from '../../auth/index.js';

/**
 * Clears an account's failed logins and lockout farm-wide, registered inside the admin API's scope
 * (http/admin-api.ts: administrators only, refused calls audited there); the protector audits a
 * granted unlock with whom and on which member. 503 while the farm store is away: an unlock of
 * one member alone would not hold.
 */
export function unlockRoute(scope: FastifyInstance, deps: { bruteForce: BruteForceProtector }): void {
  scope.post<{ Params: { id: string } }>('/api/users/:id/unlock', async (request) => {
    const hadFailures = await deps.bruteForce.unlock(request.params.id, request.session?.userId ?? 'unknown', request.ip);
    return { userId: request.params.id, unlocked: true, hadFailures };
  });
}
