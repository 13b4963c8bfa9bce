import type { FastifyInstance } from 'fastify';
import type { KeyIds } from '../../crypto/index.js';
import { CapsuleError } from '../../errors.js';
import { isSameOrigin } from '../../console/csrf.js';
import { requireAdministrator } from '../guards.js';

export function adminRoutes(app: FastifyInstance, deps: { reloadKeys: () => Promise<KeyIds> }): void {
  app.post('/system/console/crypto/refresh', async (request) => {
    requireAdministrator(request);
    // A form on another site could post here with the admin's cookie: refuse cross-origin calls.
    if (!isSameOrigin(request)) throw new CapsuleError('FORBIDDEN', 'cross-origin request refused');
    return { reloaded: true, keys: await deps.reloadKeys() };
  });
}
