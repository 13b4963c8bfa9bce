import type { FastifyInstance } from 'fastify';
import type { KeyIds } from '../../crypto/index.js';
import { requireAdministrator } from '../guards.js';

export function adminRoutes(app: FastifyInstance, deps: { reloadKeys: () => Promise<KeyIds> }): void {
  app.post('/system/console/crypto/refresh', async (request) => {
    requireAdministrator(request); // a request from another site never gets here (origin-check.ts)
    return { reloaded: true, keys: await deps.reloadKeys() };
  });
}
