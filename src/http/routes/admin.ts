import type { FastifyInstance } from 'fastify';
import type { KeyIds } from '../../crypto/index.js';

/** The key refresh, registered inside the admin API's scope (http/admin-api.ts: administrators only). */
export function adminRoutes(scope: FastifyInstance, deps: { reloadKeys: () => Promise<KeyIds> }): void {
  // A request from another site never gets here (origin-check.ts).
  scope.post('/system/console/crypto/refresh', async () => ({ reloaded: true, keys: await deps.reloadKeys() }));
}
