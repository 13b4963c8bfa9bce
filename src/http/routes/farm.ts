import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CapsuleError } from '../../errors.js';
import { MAX_LEASE_MS, publicKeySchema, sealedKeySchema, type FarmMember } from '../../farm/member/index.js';
import type { Log } from '../../log.js';

export const FARM_MEMBER_PATH = '/system/farm/member';

const stageBody = z.object({ sealed: sealedKeySchema.optional(), kid: z.string().regex(/^[0-9a-f]{16}$/).optional() }).strict();
const promoteBody = z.object({ expectedKid: z.string().regex(/^[0-9a-f]{16}$/), keepPrevious: z.boolean().default(true) }).strict();
const lockBody = z.object({ holder: z.string().min(1).max(200), leaseMs: z.number().int().min(1000).max(MAX_LEASE_MS), rotation: z.string().max(64).optional() }).strict();
const unlockBody = z.object({ holder: z.string().min(1).max(200) }).strict();
const userId = z.string().min(1).max(200);
const password = z.string().min(1).max(1024);
const addUserBody = z.object({ id: userId, password, groups: z.array(z.string().min(1).max(200)).max(64).default([]) }).strict();
const passwdBody = z.object({ id: userId, password }).strict();
const removeUserBody = z.object({ id: userId }).strict();
const exportBody = z.object({ publicKey: publicKeySchema }).strict();
const agentBody = z
  .object({
    name: z.string().min(1).max(64),
    url: z.string().url().refine((url) => /^https?:\/\//.test(url), 'an http(s) URL'),
    transportUser: userId,
    transportPassword: password,
    retryDelaySeconds: z.number().int().min(1).max(3600).optional(),
  })
  .strict();

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
export function farmRoutes(scope: FastifyInstance, deps: { farmMember: FarmMember; audit: Log }): void {
  const member = deps.farmMember;
  const audited = (request: FastifyRequest, event: string, fields: object = {}) => {
    deps.audit.info({ event, by: request.session?.userId, clientAddress: request.ip, ...fields }, `farm: ${event}`);
  };

  scope.get(FARM_MEMBER_PATH, async (request, reply) => {
    audited(request, 'farm-member-read');
    reply.header('cache-control', 'no-store');
    return member.describe();
  });

  scope.post('/system/farm/hmac/stage', async (request, reply) => {
    const body = parse(stageBody, request.body);
    const result = await member.stage(body);
    audited(request, 'farm-hmac-staged', { staged: result.staged, changed: result.changed, relayed: body.sealed !== undefined });
    reply.header('cache-control', 'no-store');
    return result;
  });

  scope.post('/system/farm/hmac/promote', async (request) => {
    const body = parse(promoteBody, request.body);
    const result = await member.promote(body);
    audited(request, 'farm-hmac-promoted', { previous: result.previous, current: result.current, previousKept: result.previousKept, changed: result.changed });
    return result;
  });

  scope.post('/system/farm/lock', async (request) => {
    const body = parse(lockBody, request.body);
    const grant = await member.lock.acquire(body.holder, body.leaseMs, body.rotation);
    audited(request, 'farm-lock-held', { holder: grant.holder, expiresAt: grant.expiresAt, rotation: grant.rotation, tookOver: grant.tookOver?.holder ?? null });
    return grant;
  });

  scope.post('/system/farm/unlock', async (request) => {
    const body = parse(unlockBody, request.body);
    const released = await member.lock.release(body.holder);
    audited(request, 'farm-lock-released', { holder: body.holder, released });
    return { released };
  });

  // The farm's users, on the author; the outbox carries each change to every publish. Passwords are never logged.
  scope.post('/system/farm/users', async (request) => {
    const body = parse(addUserBody, request.body);
    const change = await member.users.add(body.id, body.password, body.groups);
    audited(request, 'farm-user-added', { user: body.id, groups: body.groups, outboxSequence: change.outboxSequence });
    return change;
  });

  scope.post('/system/farm/users/passwd', async (request) => {
    const body = parse(passwdBody, request.body);
    const change = await member.users.setPassword(body.id, body.password);
    audited(request, 'farm-user-password-set', { user: body.id, outboxSequence: change.outboxSequence });
    return change;
  });

  scope.post('/system/farm/users/remove', async (request) => {
    const body = parse(removeUserBody, request.body);
    const change = await member.users.remove(body.id);
    audited(request, 'farm-user-removed', { user: body.id, outboxSequence: change.outboxSequence });
    return change;
  });

  // For `farm add-instance`: the keys leave only inside a bundle whose passphrase the caller and this member agree by X25519.
  scope.post('/system/farm/keys/export', async (request, reply) => {
    const body = parse(exportBody, request.body);
    const result = await member.provisioning.exportKeys(body.publicKey);
    audited(request, 'farm-keys-exported');
    reply.header('cache-control', 'no-store');
    return result;
  });

  scope.post('/system/farm/agents', async (request) => {
    const body = parse(agentBody, request.body);
    const result = await member.provisioning.addAgent(body);
    audited(request, 'farm-agent-added', { agent: result.name, url: body.url, transportUser: body.transportUser });
    return result;
  });
}
