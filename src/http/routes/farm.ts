import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CapsuleError } from '../../errors.js';
import type { FarmMember } from '../../member/index.js';
import {
  addUserBody,
  agentBody,
  exportBody,
  FARM_AGENTS_PATH,
  FARM_HMAC_PROMOTE_PATH,
  FARM_HMAC_STAGE_PATH,
  FARM_KEYS_EXPORT_PATH,
  FARM_LOCK_PATH,
  FARM_MEMBER_PATH,
  FARM_UNLOCK_PATH,
  FARM_USERS_PASSWD_PATH,
  FARM_USERS_PATH,
  FARM_USERS_DISABLE_PATH,
  FARM_USERS_ENABLE_PATH,
  FARM_USERS_LIST_PATH,
  FARM_USERS_LOGOUT_EVERYWHERE_PATH,
  FARM_USERS_REMOVE_PATH,
  listUsersBody,
  lockBody,
  passwdBody,
  promoteBody,
  removeUserBody,
  stageBody,
  unlockBody,
  userBody,
} from '../../member/protocol.js';
import type { TokenHandler } from '../../auth/index.js';
import type { Log } from '../../log.js';

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new CapsuleError('INVALID_ARGUMENT', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
}

/**
 * The calls the farm commands make from an operator's machine, registered inside the admin
 * API's scope (http/admin-api.ts: administrators only, refused calls audited there); each
 * route records in the audit log what it did, with the caller.
 */
export function farmRoutes(scope: FastifyInstance, deps: { farmMember: FarmMember; audit: Log; tokens: TokenHandler }): void {
  const member = deps.farmMember;
  const audited = (request: FastifyRequest, event: string, fields: object = {}) => {
    deps.audit.info({ event, by: request.session?.userId, clientAddress: request.ip, ...fields }, `farm: ${event}`);
  };

  scope.get(FARM_MEMBER_PATH, async (request, reply) => {
    audited(request, 'farm-member-read');
    reply.header('cache-control', 'no-store');
    return member.describe();
  });

  scope.post(FARM_HMAC_STAGE_PATH, async (request, reply) => {
    const body = parse(stageBody, request.body);
    const result = await member.stage(body);
    audited(request, 'farm-hmac-staged', { staged: result.staged, changed: result.changed, relayed: body.sealed !== undefined });
    reply.header('cache-control', 'no-store');
    return result;
  });

  scope.post(FARM_HMAC_PROMOTE_PATH, async (request) => {
    const body = parse(promoteBody, request.body);
    const result = await member.promote(body);
    audited(request, 'farm-hmac-promoted', { previous: result.previous, current: result.current, previousKept: result.previousKept, changed: result.changed });
    return result;
  });

  scope.post(FARM_LOCK_PATH, async (request) => {
    const body = parse(lockBody, request.body);
    const grant = await member.lock.acquire(body.holder, body.leaseMs, body.rotation);
    audited(request, 'farm-lock-held', { holder: grant.holder, expiresAt: grant.expiresAt, rotation: grant.rotation, tookOver: grant.tookOver?.holder ?? null });
    return grant;
  });

  scope.post(FARM_UNLOCK_PATH, async (request) => {
    const body = parse(unlockBody, request.body);
    const released = await member.lock.release(body.holder);
    audited(request, 'farm-lock-released', { holder: body.holder, released });
    return { released };
  });

  // The farm's users, on the author; the outbox carries each change to every publish. Passwords are never logged.
  scope.post(FARM_USERS_PATH, async (request) => {
    const body = parse(addUserBody, request.body);
    const change = await member.users.add(body.id, body.password, body.groups);
    audited(request, 'farm-user-added', { user: body.id, groups: body.groups, outboxSequence: change.outboxSequence });
    return change;
  });

  scope.post(FARM_USERS_PASSWD_PATH, async (request) => {
    const body = parse(passwdBody, request.body);
    const change = await member.users.setPassword(body.id, body.password);
    audited(request, 'farm-user-password-set', { user: body.id, outboxSequence: change.outboxSequence });
    return change;
  });

  scope.post(FARM_USERS_REMOVE_PATH, async (request) => {
    const body = parse(removeUserBody, request.body);
    const change = await member.users.remove(body.id);
    audited(request, 'farm-user-removed', { user: body.id, outboxSequence: change.outboxSequence });
    return change;
  });

  scope.post(FARM_USERS_LIST_PATH, async (request, reply) => {
    const query = parse(listUsersBody, request.body);
    const page = await member.users.list(query);
    audited(request, 'farm-users-listed', { query, count: page.users.length });
    reply.header('cache-control', 'no-store');
    return page;
  });

  for (const [path, disabled] of [[FARM_USERS_DISABLE_PATH, true], [FARM_USERS_ENABLE_PATH, false]] as const) {
    scope.post(path, async (request) => {
      const body = parse(userBody, request.body);
      const change = await member.users.setDisabled(body.id, disabled);
      audited(request, disabled ? 'farm-user-disabled' : 'farm-user-enabled', { user: body.id, outboxSequence: change.outboxSequence });
      return change;
    });
  }

  scope.post(FARM_USERS_LOGOUT_EVERYWHERE_PATH, async (request) => {
    const body = parse(userBody, request.body);
    const by = request.session?.userId;
    const change = await member.users.logoutEverywhere(body.id, (id) => deps.tokens.logoutEverywhere(id, by));
    audited(request, 'farm-user-logged-out-everywhere', { user: body.id, generation: change.generation, outboxSequence: change.outboxSequence });
    return change;
  });

  // For `farm add-instance`: the keys leave only inside a bundle whose passphrase the caller and this member agree by X25519.
  scope.post(FARM_KEYS_EXPORT_PATH, async (request, reply) => {
    const body = parse(exportBody, request.body);
    const result = await member.provisioning.exportKeys(body.publicKey);
    audited(request, 'farm-keys-exported');
    reply.header('cache-control', 'no-store');
    return result;
  });

  scope.post(FARM_AGENTS_PATH, async (request) => {
    const body = parse(agentBody, request.body);
    const result = await member.provisioning.addAgent(body);
    audited(request, 'farm-agent-added', { agent: result.name, url: body.url, transportUser: body.transportUser });
    return result;
  });
}
