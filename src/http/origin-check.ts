import type { FastifyInstance, FastifyRequest } from 'fastify';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route takes POSTs from other sites by design (a SAML ACS: the IdP's page posts the
     * response) and protects itself: it acts only on a message bound to this browser's signed state.
     */
    readonly crossSitePost?: boolean;
  }
}

/** What a refused request is told (the console's forms show it too). */
export const CROSS_ORIGIN_REFUSED = 'A request from another site was refused; nothing was changed.';

/**
 * What the browser says about where a request comes from: 'same' for this origin, 'cross' for
 * another site (a foreign or "null" Origin, or Sec-Fetch-Site), 'unknown' when it says nothing
 * (curl, server-to-server calls, very old browsers).
 */
export function requestOrigin(request: FastifyRequest): 'same' | 'cross' | 'unknown' {
  const origin = request.headers.origin;
  if (origin !== undefined) {
    // Host only: behind a proxy that ends TLS the browser says https while this server sees http.
    try {
      return new URL(origin).host === request.host ? 'same' : 'cross';
    } catch {
      return 'cross'; // "null" or garbage: an opaque origin is never this site
    }
  }
  const site = request.headers['sec-fetch-site'];
  if (site === undefined) return 'unknown';
  return site === 'same-origin' || site === 'none' ? 'same' : 'cross';
}

/**
 * The one origin check: every state-changing request that another site started is refused
 * before any route runs, whatever authenticates it (a cookie goes along with a cross-site form
 * post; a login form posted from elsewhere would sign the victim in as the attacker). Requests
 * that say nothing still meet each route's own checks (the console's CSRF token).
 */
export function installOriginCheck(app: FastifyInstance): void {
  // Callback style, not async: every request runs this, and an async hook costs a promise.
  app.addHook('onRequest', (request, reply, done) => {
    if (SAFE_METHODS.has(request.method) || request.routeOptions.config.crossSitePost === true || requestOrigin(request) !== 'cross') return done();
    void reply.code(403).send({ error: { code: 'FORBIDDEN', message: CROSS_ORIGIN_REFUSED } });
  });
}
