import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clearedTokenCookie, tokenCookieOf, type Session, type TokenHandler } from '../../auth/index.js';
import { CapsuleError } from '../../errors.js';
import { requestOrigin } from '../origin-check.js';
import { requireSession } from '../guards.js';

export function sessionJson(session: Session) {
  return { userId: session.userId, groups: session.groups, token: { type: session.token.type, expiresAt: session.token.expiresAt.toISOString() } };
}

/**
 * Only a path on this site: no scheme, no host, no `//` or `/\` that a browser reads as another
 * host; and printable ASCII only (a URL's other characters come percent-encoded), since a
 * `Location` header refuses DEL and anything above U+00FF and browsers read the rest as Latin-1.
 */
export function safeResource(resource: unknown): string | null {
  if (typeof resource !== 'string' || resource.length > 2048) return null;
  return /^\/(?![/\\])[\x21-\x7e]*$/.test(resource) ? resource : null;
}

function field(body: unknown, name: string): string {
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : '';
}

const isHttps = (request: FastifyRequest) => request.protocol === 'https';

export interface AuthRouteDeps {
  readonly tokens: TokenHandler;
  /** Whether `submitted` is the console's CSRF token for this login token. */
  readonly isValidCsrfToken: (loginToken: string, submitted: unknown) => boolean;
  /** After a browser's logout: where to go instead of the resource (single logout at an identity provider), with a cookie to set, or null. */
  readonly afterLogout?: (userId: string, request: FastifyRequest) => Promise<{ location: string; setCookie: string } | null>;
}

export function authRoutes(app: FastifyInstance, deps: AuthRouteDeps): void {
  const { tokens } = deps;

  app.post('/j_security_check', async (request, reply: FastifyReply) => {
    const userId = field(request.body, 'j_username');
    const password = field(request.body, 'j_password');
    if (!userId || !password) throw new CapsuleError('INVALID_ARGUMENT', 'j_username and j_password are required');
    // Read before logging in: whatever it holds, the answer after the login is a safe one.
    const resource = safeResource(field(request.body, 'resource'));
    const result = await tokens.login(userId, password, request.ip, request.headers['user-agent'] ?? '');
    if (!result.ok) {
      // A browser's login form (the console's) goes back to its page, which says why, as Sling does.
      if (resource && (request.headers.accept ?? '').includes('text/html')) {
        const reason = result.retryAfterSeconds > 0 ? 'too_many_attempts' : 'invalid_login';
        if (result.retryAfterSeconds > 0) reply.header('retry-after', String(result.retryAfterSeconds));
        return reply.code(303).header('location', `${resource}${resource.includes('?') ? '&' : '?'}j_reason=${reason}`).send();
      }
      if (result.retryAfterSeconds > 0) {
        reply.header('retry-after', String(result.retryAfterSeconds));
        throw new CapsuleError('TOO_MANY_REQUESTS', `too many failed logins; try again in ${result.retryAfterSeconds} seconds`);
      }
      // The same answer for an unknown user and a wrong password: no user enumeration.
      throw new CapsuleError('UNAUTHENTICATED', 'invalid user name or password');
    }
    reply.header('set-cookie', tokens.cookieFor(result.token, result.session, isHttps(request)));
    reply.header('cache-control', 'no-store');
    if (resource) return reply.code(303).header('location', resource).send();
    return sessionJson(result.session);
  });

  app.post('/system/sling/logout', async (request, reply) => {
    // A browser sends the cookie with any site's form: a cookie-authenticated logout needs the
    // browser to say it came from this site, or the console's CSRF token (the origin check has
    // already refused one that says it came from elsewhere).
    const cookieToken = tokenCookieOf(request, tokens.settings().cookieName);
    if (cookieToken && requestOrigin(request) !== 'same' && !deps.isValidCsrfToken(cookieToken, field(request.body, 'csrf'))) {
      throw new CapsuleError('FORBIDDEN', 'log out from a page of this site (the form carries a CSRF token), or send the token in the login-token header');
    }
    const resource = safeResource(field(request.body, 'resource') || (request.query as Record<string, unknown>).resource);
    const token = tokens.tokenOf(request);
    const userId = token ? (request.session?.userId ?? null) : null;
    if (token) await tokens.logout(token);
    reply.header('set-cookie', clearedTokenCookie(tokens.settings(), isHttps(request)));
    const next = resource && userId && deps.afterLogout ? await deps.afterLogout(userId, request) : null;
    if (next) return reply.code(303).header('set-cookie', next.setCookie).header('location', next.location).send();
    if (resource) return reply.code(303).header('location', resource).send();
    return { loggedOut: true };
  });

  app.get('/api/session', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return sessionJson(requireSession(request));
  });
}
