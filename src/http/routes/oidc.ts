import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { TokenHandler } from '../../auth/index.js';
import { LOGIN_STATE_COOKIE, LOGIN_STATE_LIFETIME_S, OidcLoginError, type OidcLogin, type OidcSettings } from '../../auth/oidc/index.js';
import type { SamlLogin } from '../../auth/saml/index.js';
import { isCapsuleError } from '../../errors.js';
import { safeResource } from './auth.js';
import { LOGIN_PAGE_PATH, OIDC_LOGIN_PATH, renderLoginPage, sendLoginPage } from './login-page.js';

export const OIDC_CALLBACK_PATH = '/system/sling/oidc/callback';
const STATE_COOKIE_PATH = '/system/sling/oidc';

const isHttps = (request: FastifyRequest) => request.protocol === 'https';

/** The site's base URL: the configured external URL, else the request's own scheme and host. */
function baseUrl(request: FastifyRequest, settings: OidcSettings): string {
  return (settings.externalUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');
}

function stateCookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  return stringifySetCookie({ name: LOGIN_STATE_COOKIE, value, httpOnly: true, sameSite: 'lax', secure: isHttps(request), path: STATE_COOKIE_PATH, maxAge: maxAgeSeconds });
}

/**
 * `GET /system/sling/oidc/login/<provider>?resource=/path` starts the code flow (PKCE, state,
 * nonce in a short-lived signed cookie); `GET /system/sling/oidc/callback` completes it and sets
 * the login cookie. Failures are shown on the login page in plain words and logged in full.
 */
export function oidcRoutes(app: FastifyInstance, deps: { tokens: TokenHandler; oidc: OidcLogin; saml: SamlLogin; instanceName: () => string }): void {
  const { oidc, tokens } = deps;

  function failure(message: string, resource: string | null) {
    return renderLoginPage({ instanceName: deps.instanceName(), resource: resource ?? LOGIN_PAGE_PATH, providers: oidc.providers(), samlProviders: deps.saml.providers(), error: message });
  }

  app.get<{ Params: { name: string } }>(`${OIDC_LOGIN_PATH}/:name`, async (request, reply) => {
    const { name } = request.params;
    const resource = safeResource((request.query as Record<string, unknown>).resource);
    if (!oidc.names().includes(name)) {
      return sendLoginPage(reply, 404, failure('There is no such sign-in option.', resource));
    }
    try {
      const begun = await oidc.begin(name, { redirectUri: (settings) => `${baseUrl(request, settings)}${OIDC_CALLBACK_PATH}`, resource });
      return reply
        .code(302)
        .header('set-cookie', stateCookie(request, begun.stateCookie, LOGIN_STATE_LIFETIME_S))
        .header('cache-control', 'no-store')
        .header('location', begun.authorizationUrl)
        .send();
    } catch (error) {
      request.log.error({ err: error, provider: name }, 'OpenID sign-in could not start');
      const unreachable = isCapsuleError(error, 'OIDC_UNREACHABLE');
      return sendLoginPage(reply, unreachable ? 502 : 500, failure('The identity provider is not available right now. Please try again in a moment.', resource));
    }
  });

  app.get(OIDC_CALLBACK_PATH, async (request, reply) => {
    const cookies = parseCookie(request.headers.cookie ?? '');
    // The state is single-use: whatever happens next, the browser forgets it.
    reply.header('set-cookie', stateCookie(request, '', 0)).header('cache-control', 'no-store');
    const search = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    try {
      const completed = await oidc.complete((settings) => new URL(`${baseUrl(request, settings)}${OIDC_CALLBACK_PATH}${search}`), cookies[LOGIN_STATE_COOKIE]);
      const signIn = { method: 'oidc', provider: completed.provisioning.p, clientAddress: request.ip, userAgent: request.headers['user-agent'] ?? '' } as const;
      const issued = await tokens.issue(completed.user, { provisioning: completed.provisioning, signIn });
      reply.header('set-cookie', tokens.cookieFor(issued.token, issued.session, isHttps(request)));
      return reply.code(303).header('location', safeResource(completed.resource) ?? LOGIN_PAGE_PATH).send();
    } catch (error) {
      if (error instanceof OidcLoginError) {
        request.log.warn({ reason: error.message }, 'OpenID sign-in failed');
        return sendLoginPage(reply, 401, failure(error.userMessage, null));
      }
      request.log.error({ err: error }, 'OpenID sign-in failed');
      return sendLoginPage(reply, 500, failure('Something went wrong while signing you in. Please try again; the instance log has the details.', null));
    }
  });
}
