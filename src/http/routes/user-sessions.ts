import type { Clock } from '../../clock.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { TokenHandler } from '../../auth/index.js';
import { CapsuleError } from '../../errors.js';
import {
  FARM_SESSIONS_LIST_PATH,
  FARM_SESSIONS_REVOKE_ALL_PATH,
  FARM_SESSIONS_REVOKE_PATH,
  revokeSessionBody,
  SESSION_ID_SHAPE,
  sessionsOfUserBody,
  type MemberSessionList,
  type MemberSessionRevoked,
  type MemberSessionsEnded,
} from '../../member/protocol.js';
import type { SessionRegistry } from '../../sessions/registry-types.js';
import type { UserManager } from '../../users/index.js';
import { clearCookieIfCurrent, currentSessionOf } from './sessions.js';

export interface UserSessionRouteDeps {
  readonly sessions: SessionRegistry;
  readonly tokens: TokenHandler;
  readonly services: { readonly users: UserManager; readonly clock: Clock };
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new CapsuleError('INVALID_ARGUMENT', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
}

/**
 * An administrator's view of anyone's sessions, registered inside the admin API's scope
 * (http/admin-api.ts: one guard before any of this runs, refused calls audited there): the
 * `/api/users/:id/sessions` routes, and the same three operations under `/system/farm/sessions`
 * for `capsule farm sessions` (bodies checked by member/protocol.ts). Each session ended is
 * audited by the registry (`session-ended`, with who asked).
 */
export function userSessionRoutes(scope: FastifyInstance, deps: UserSessionRouteDeps): void {
  const { sessions, tokens } = deps;
  const by = (request: FastifyRequest) => request.session?.userId ?? 'unknown';

  async function existingUser(id: string): Promise<string> {
    if (!(await deps.services.users.getUser(id))) throw new CapsuleError('USER_NOT_FOUND', `no user '${id}' on this instance`);
    return id;
  }

  const list = async (request: FastifyRequest, id: string): Promise<MemberSessionList> => {
    const userId = await existingUser(id);
    return { userId, sessions: await sessions.list(userId, currentSessionOf(request)) };
  };
  const revokeAll = async (request: FastifyRequest, id: string): Promise<MemberSessionsEnded> => {
    const userId = await existingUser(id);
    return { userId, ended: await sessions.revokeAll(userId, by(request)) };
  };

  scope.get<{ Params: { id: string } }>('/api/users/:id/sessions', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return list(request, request.params.id);
  });
  scope.delete<{ Params: { id: string } }>('/api/users/:id/sessions', async (request) => revokeAll(request, request.params.id));
  scope.delete<{ Params: { id: string; sid: string } }>('/api/users/:id/sessions/:sid', async (request, reply) => {
    const userId = await existingUser(request.params.id);
    const revoked = SESSION_ID_SHAPE.test(request.params.sid) ? await sessions.revoke(userId, request.params.sid, by(request)) : null;
    if (!revoked) throw new CapsuleError('NOT_FOUND', `${userId} has no active session with that id`);
    // An administrator who ends the session they are using is signed out, as anyone would be.
    const signedOut = userId === request.session?.userId && clearCookieIfCurrent(request, reply, tokens, revoked.id);
    return { userId, revoked, signedOut };
  });

  scope.post(FARM_SESSIONS_LIST_PATH, async (request) => list(request, parse(sessionsOfUserBody, request.body).user));
  scope.post(FARM_SESSIONS_REVOKE_PATH, async (request): Promise<MemberSessionRevoked> => {
    const body = parse(revokeSessionBody, request.body);
    const userId = await existingUser(body.user);
    const revoked = await sessions.revoke(userId, body.session, by(request));
    // A member without the record (no shared store: another member issued it) still refuses the
    // session's tokens from now on, for as long as any of them can live.
    if (revoked === null) await sessions.holdRevoked(userId, body.session, deps.services.clock.now() + tokens.settings().expirationMs, by(request));
    return { userId, revoked };
  });
  scope.post(FARM_SESSIONS_REVOKE_ALL_PATH, async (request) => revokeAll(request, parse(sessionsOfUserBody, request.body).user));
}
