import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { TokenHandler } from '../../auth/index.js';
import {
  MAX_SAML_RESPONSE_CHARS,
  SAML_STATE_COOKIE,
  SAML_STATE_LIFETIME_S,
  SamlLoginError,
  type AcsUrlOf,
  type SamlLogin,
  type SingleLogout,
} from '../../auth/saml/index.js';
import type { Log } from '../../log.js';
import { safeResource } from './auth.js';
import { logoutCookie, samlLogoutRoutes, sloUrlOf } from './saml-logout.js';
import { LOGIN_PAGE_PATH, renderLoginPage, sendLoginPage, SAML_PATH } from './login-page.js';
import type { OidcLogin } from '../../auth/oidc/index.js';

const isHttps = (request: FastifyRequest) => request.protocol === 'https';

/**
 * The form body is the SAMLResponse (base64, which form encoding can triple: + / =) and a
 * RelayState: the response's own limit (acs.ts refuses beyond it with its reason), encoded, and
 * room for the rest; far below the app's 1 MiB.
 */
const ACS_BODY_LIMIT_BYTES = 3 * MAX_SAML_RESPONSE_CHARS + 16 * 1024;

/**
 * The login state cookie is SameSite=None; Secure. The IdP's page posts the response to the ACS
 * from another site, and browsers do not send a SameSite=Lax cookie on a cross-site POST
 * (verified in Chromium 156): OpenID's Lax state cookie would break every SAML sign-in. None
 * requires Secure; browsers keep a Secure cookie from https, and from http on loopback
 * (127.0.0.1, localhost), which they count as secure. On plain http from any other host the
 * browser drops the cookie, and the ACS refuses the response as answering no sign-in started in
 * this browser: such a site needs https (or a TLS-terminating proxy). The alternative, a page that
 * re-posts the response to the ACS from this site so a Lax cookie goes along, needs an inline
 * script under the login pages' CSP; it is left for that case. HttpOnly, short-lived: what it
 * holds lets nobody sign in without the IdP's signed answer. Named `__Host-`, so Path=/ (the
 * prefix requires it, and no Domain): a cookie scoped to the SAML routes could be shadowed by
 * one a sibling subdomain plants with a more specific Path, which the browser sends first.
 */
function stateCookie(value: string, maxAgeSeconds: number): string {
  return stringifySetCookie({ name: SAML_STATE_COOKIE, value, httpOnly: true, sameSite: 'none', secure: true, path: '/', maxAge: maxAgeSeconds });
}

/** Whether a browser keeps a Secure cookie this request sets: on https, and on http to loopback only. */
function keepsSecureCookie(request: FastifyRequest): boolean {
  return isHttps(request) || /^(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)$/.test(request.hostname);
}

const PLAIN_HTTP_HINT =
  'no login state cookie came with the response, and this site is plain http: browsers drop the Secure state cookie there; serve it over https (behind a TLS-terminating proxy, list the proxy in trusted proxies)';

function field(body: unknown, name: string): string | null {
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : null;
}

/**
 * `GET /system/sling/saml/<name>/login?resource=/path` sends the browser to the IdP with an
 * AuthnRequest (the request bound to a signed cookie); `POST /system/sling/saml/<name>/acs`
 * takes the IdP's response and sets the login cookie; `GET /system/sling/saml/<name>/metadata`
 * is the SP metadata. A refused response ends on the login page in plain words, and in the log
 * and the audit trail with its reason and the two values that differ.
 */
export function samlRoutes(
  app: FastifyInstance,
  deps: { tokens: TokenHandler; saml: SamlLogin; samlLogout: SingleLogout; oidc: OidcLogin; audit: Log; instanceName: () => string },
): void {
  const { saml, tokens } = deps;

  const acsUrlOf =
    (request: FastifyRequest, name: string): AcsUrlOf =>
    (settings) =>
      settings.acsUrl ?? `${request.protocol}://${request.host}${SAML_PATH}/${name}/acs`;

  function failure(message: string, resource: string | null) {
    return renderLoginPage({
      instanceName: deps.instanceName(),
      resource: resource ?? LOGIN_PAGE_PATH,
      providers: deps.oidc.providers(),
      samlProviders: saml.providers(),
      error: message,
    });
  }

  app.get<{ Params: { name: string } }>(`${SAML_PATH}/:name/login`, async (request, reply) => {
    const { name } = request.params;
    const resource = safeResource((request.query as Record<string, unknown>).resource);
    if (!saml.names().includes(name)) return sendLoginPage(reply, 404, failure('There is no such sign-in option.', resource));
    try {
      const begun = await saml.begin(name, { acsUrl: acsUrlOf(request, name), resource });
      return reply.code(302).header('set-cookie', stateCookie(begun.stateCookie, SAML_STATE_LIFETIME_S)).header('cache-control', 'no-store').header('location', begun.url).send();
    } catch (error) {
      request.log.error({ err: error, provider: name }, 'SAML sign-in could not start');
      return sendLoginPage(reply, 500, failure('Signing in with the identity provider cannot start: this site is not set up right. Please ask your administrator.', resource));
    }
  });

  app.post<{ Params: { name: string } }>(`${SAML_PATH}/:name/acs`, { bodyLimit: ACS_BODY_LIMIT_BYTES, config: { crossSitePost: true } }, async (request, reply) => {
    const { name } = request.params;
    // The state is single-use: whatever happens next, the browser forgets it.
    reply.header('set-cookie', stateCookie('', 0)).header('cache-control', 'no-store');
    if (!saml.names().includes(name)) return sendLoginPage(reply, 404, failure('There is no such sign-in option.', null));
    const samlResponse = field(request.body, 'SAMLResponse');
    if (samlResponse === null) return sendLoginPage(reply, 400, failure('The identity provider sent no sign-in response. Please sign in again.', null));
    const cookies = parseCookie(request.headers.cookie ?? '');
    try {
      const completed = await saml.complete(name, { acsUrl: acsUrlOf(request, name), samlResponse, stateCookie: cookies[SAML_STATE_COOKIE] });
      const signIn = { method: 'saml', provider: name, clientAddress: request.ip, userAgent: request.headers['user-agent'] ?? '' } as const;
      const issued = await tokens.issue(completed.user, { provisioning: completed.provisioning, signIn });
      deps.audit.info({ event: 'login', outcome: 'success', userId: completed.user.id, provider: name, method: 'saml', clientAddress: request.ip }, 'login');
      reply.header('set-cookie', tokens.cookieFor(issued.token, issued.session, isHttps(request)));
      // A logout state left from before this sign-in must not start the IdP's logout of the new session.
      reply.header('set-cookie', logoutCookie('', 0));
      return reply.code(303).header('location', safeResource(completed.resource) ?? LOGIN_PAGE_PATH).send();
    } catch (error) {
      if (error instanceof SamlLoginError) {
        const stateless = cookies[SAML_STATE_COOKIE] === undefined && !keepsSecureCookie(request);
        const fields = { provider: name, reason: error.reason, expected: error.expected, received: error.received, ...(stateless ? { hint: PLAIN_HTTP_HINT } : {}) };
        request.log.warn(fields, 'SAML sign-in refused');
        deps.audit.warn({ event: 'login', outcome: 'refused', method: 'saml', clientAddress: request.ip, ...fields }, 'SAML sign-in refused');
        return sendLoginPage(reply, 401, failure(error.userMessage, null));
      }
      request.log.error({ err: error, provider: name }, 'SAML sign-in failed');
      return sendLoginPage(reply, 500, failure('Something went wrong while signing you in. Please try again; the instance log has the details.', null));
    }
  });

  app.get<{ Params: { name: string } }>(`${SAML_PATH}/:name/metadata`, async (request, reply) => {
    const { name } = request.params;
    if (!saml.names().includes(name)) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no SAML identity provider ${name}` } });
    return reply.header('cache-control', 'no-store').type('application/samlmetadata+xml').send(saml.metadata(name, { acsUrl: acsUrlOf(request, name), sloUrl: sloUrlOf(request) }));
  });

  samlLogoutRoutes(app, { ...deps, page: failure });
}
