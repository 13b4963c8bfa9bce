import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Authentication, Session, TokenHandler } from '../auth/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated session, or null for an anonymous request. */
    session: Session | null;
  }
}

/**
 * The token handler as a Fastify plugin: every request gets `request.session`, and a renewed
 * token goes back as a cookie. Registered without encapsulation so that it covers every route.
 */
export function tokenAuthPlugin(handler: TokenHandler): FastifyPluginAsync {
  const plugin: FastifyPluginAsync = async (app: FastifyInstance) => {
    app.decorateRequest('session', null);
    // Callback style: an anonymous request, and a token whose check is kept, pass without a
    // promise being made (they are most requests).
    app.addHook('onRequest', (request, reply, done) => {
      const token = handler.tokenOf(request);
      if (!token) return done();
      const accept = (authentication: Authentication | null) => {
        if (authentication) {
          request.session = authentication.session;
          if (authentication.renewedToken) {
            reply.header('set-cookie', handler.cookieFor(authentication.renewedToken, authentication.session, request.protocol === 'https'));
          }
        }
      };
      const kept = handler.authenticateKept(token);
      if (kept) {
        accept(kept);
        return done();
      }
      handler.authenticateToken(token).then((authentication) => {
        accept(authentication);
        done();
      }, done);
    });
  };
  // What fastify-plugin does: the hook applies to the app the plugin is registered on.
  Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'capsule-token-auth' });
  return plugin;
}
