import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clearedTokenCookie, type TokenHandler } from '../../auth/index.js';
import { CapsuleError } from '../../errors.js';
import { SESSION_ID_SHAPE } from '../../member/protocol.js';
import type { SessionRegistry, SessionView } from '../../sessions/registry-types.js';
import { requireSession } from '../guards.js';

export interface SessionRouteDeps {
  readonly sessions: SessionRegistry;
  readonly tokens: TokenHandler;
}

/** The session a request's token names: null for a token issued before sessions existed. */
export const currentSessionOf = (request: FastifyRequest): string | null => request.session?.sessionId ?? null;

/** After the session of the request itself was ended: the browser drops its cookie too. */
export function clearCookieIfCurrent(request: FastifyRequest, reply: FastifyReply, tokens: TokenHandler, endedId: string): boolean {
  if (currentSessionOf(request) !== endedId) return false;
  reply.header('set-cookie', clearedTokenCookie(tokens.settings(), request.protocol === 'https'));
  return true;
}

/**
 * Who ended a session, as its user is told: an administrator's id or API key name is not theirs to know.
 * `system` (the limit, a user change) stays.
 */
export function asSeenByItsUser(view: SessionView): SessionView {
  if (view.endedBy === null || view.endedBy === 'system') return view;
  return { ...view, endedBy: view.endedBy === view.userId ? 'you' : 'an administrator' };
}

/**
 * A signed-in user's own sessions (every device they signed in on): list, end one, end all others.
 * Another user's session is answered as one that does not exist (404), so ids cannot be probed.
 * DELETE and POST meet the origin check (origin-check.ts) before any of this runs.
 */
export function sessionRoutes(app: FastifyInstance, deps: SessionRouteDeps): void {
  const { sessions, tokens } = deps;

  app.get('/api/sessions', async (request, reply) => {
    const session = requireSession(request);
    reply.header('cache-control', 'no-store');
    return { sessions: (await sessions.list(session.userId, currentSessionOf(request))).map(asSeenByItsUser) };
  });

  app.delete<{ Params: { id: string } }>('/api/sessions/:id', async (request, reply) => {
    const session = requireSession(request);
    // An id no session can have is answered as an unknown one, without asking the store.
    const revoked = SESSION_ID_SHAPE.test(request.params.id) ? await sessions.revoke(session.userId, request.params.id, session.userId) : null;
    if (!revoked) throw new CapsuleError('NOT_FOUND', 'you have no active session with that id');
    const signedOut = clearCookieIfCurrent(request, reply, tokens, revoked.id);
    return { revoked: { ...asSeenByItsUser(revoked), current: signedOut }, signedOut };
  });

  app.post('/api/sessions/revoke-others', async (request) => {
    const session = requireSession(request);
    const keep = currentSessionOf(request);
    return { ended: await sessions.revokeOthers(session.userId, keep, session.userId), kept: keep };
  });
}
