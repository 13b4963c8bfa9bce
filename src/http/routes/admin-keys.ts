import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { AdminKeyInfo, AdminKeyStore } from '../../auth/index.js';
import { CapsuleError } from '../../errors.js';
import type { Log } from '../../log.js';
import { FARM_ADMIN_KEYS_PATH, FARM_ADMIN_KEYS_REVOKE_PATH, installAdminKeyBody, revokeAdminKeyBody, type AdminKeyView } from '../../member/protocol.js';

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new CapsuleError('INVALID_ARGUMENT', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
}

function viewOf(info: AdminKeyInfo): AdminKeyView {
  const iso = (date: Date | null) => (date ? date.toISOString() : null);
  return { id: info.id, name: info.name, createdAt: info.createdAt.toISOString(), lastUsedAt: iso(info.lastUsedAt), expiresAt: iso(info.expiresAt) };
}

/**
 * The operators' admin API keys on this member, for `capsule farm admin-keys` (inside the admin API
 * scope: administrators only, refused calls audited there). A key arrives as its hash; what is
 * installed or revoked is audited with the caller.
 */
export function adminKeyRoutes(scope: FastifyInstance, deps: { adminKeys: AdminKeyStore; audit: Log }): void {
  scope.get(FARM_ADMIN_KEYS_PATH, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { keys: (await deps.adminKeys.list()).map(viewOf) };
  });

  scope.post(FARM_ADMIN_KEYS_PATH, async (request) => {
    const body = parse(installAdminKeyBody, request.body);
    const info = await deps.adminKeys.install({ ...body, expiresAt: body.expiresAt === null ? null : new Date(body.expiresAt) });
    deps.audit.info({ event: 'admin-key-created', keyId: info.id, keyName: info.name, expiresAt: info.expiresAt?.toISOString() ?? null, by: request.session?.userId, clientAddress: request.ip }, 'admin API key created');
    return viewOf(info);
  });

  scope.post(FARM_ADMIN_KEYS_REVOKE_PATH, async (request) => {
    const { nameOrId } = parse(revokeAdminKeyBody, request.body);
    const info = await deps.adminKeys.revoke(nameOrId);
    if (!info) return { revoked: null };
    deps.audit.info({ event: 'admin-key-revoked', keyId: info.id, keyName: info.name, by: request.session?.userId, clientAddress: request.ip }, 'admin API key revoked');
    return { revoked: viewOf(info) };
  });
}
