import type { FastifyRequest } from 'fastify';
import { looksLikeAdminKey, type AdminKeyStore } from '../auth/index.js';
import { CapsuleError } from '../errors.js';
import type { Log } from '../log.js';
import { ADMINISTRATORS } from '../users/index.js';

/** The admin API key a request carries (`Authorization: Bearer cap_ak_…`), or null. */
export function adminKeyOf(request: FastifyRequest): string | null {
  const value = request.headers.authorization;
  if (typeof value !== 'string' || !/^bearer /i.test(value)) return null;
  const key = value.slice(7).trim();
  return looksLikeAdminKey(key) ? key : null;
}

/**
 * Makes the request an administrator's for the admin API scope alone, when its key checks out;
 * read only inside that scope (admin-api.ts), so a key is nothing to the console, content or login.
 * No password login is involved, so no failed one (the throttle) can lock an operator out.
 * A refused key is audited by its id and the reason, never the key, and answered 401 with one
 * message whatever the reason.
 */
export async function authenticateAdminKey(request: FastifyRequest, key: string, deps: { adminKeys: AdminKeyStore; audit: Log }): Promise<void> {
  const check = await deps.adminKeys.check(key);
  if (!check.ok) {
    deps.audit.warn({ event: 'admin-key-refused', keyId: check.id, reason: check.reason, method: request.method, path: request.url, clientAddress: request.ip }, 'admin API key refused');
    throw new CapsuleError('UNAUTHENTICATED', 'admin API key refused (revoked, expired or unknown): ask an administrator for a key');
  }
  // The session kind is nominal: nothing in the admin API scope reads it, and the key never leaves it.
  request.session = { userId: `admin-key:${check.key.name}`, groups: [ADMINISTRATORS], token: { type: 'stateful', expiresAt: check.key.expiresAt ?? new Date(8.64e15) } };
}
