import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { TokenHandler } from '../../auth/index.js';
import { SAML_LOGOUT_COOKIE, SAML_LOGOUT_LIFETIME_S, samlSloUrl, SamlLogoutError, type SamlLogin, type SingleLogout, type SloUrlOf } from '../../auth/saml/index.js';
import { html, STYLESHEET_PATH, type SafeHtml } from '../../console/index.js';
import type { Log } from '../../log.js';
import { loginPageUrl, SAML_PATH, sendLoginPage } from './login-page.js';

/**
 * The logout state cookie is SameSite=Lax: the IdP sends the browser back with a top-level GET
 * redirect, which carries Lax cookies (unlike the login's cross-site POST). Named `__Host-` as
 * the login state cookie (routes/saml.ts), so Secure and Path=/ always: as for the login, plain
 * http works on loopback only (browsers count it as secure there).
 */
export function logoutCookie(value: string, maxAgeSeconds: number): string {
  return stringifySetCookie({ name: SAML_LOGOUT_COOKIE, value, httpOnly: true, sameSite: 'lax', secure: true, path: '/', maxAge: maxAgeSeconds });
}

/** This SP's single logout URL: on the configured ACS URL's site, else on the site the request came to. */
export const sloUrlOf =
  (request: FastifyRequest): SloUrlOf =>
  (settings) =>
    samlSloUrl(settings, settings.acsUrl === null ? `${request.protocol}://${request.host}` : null);

function rawQueryOf(request: FastifyRequest): string {
  const url = request.raw.url ?? '';
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at + 1);
}

/** `/system/sling/saml/NAME/slo/start`: where Capsule's logout sends the browser on its way to the IdP. */
export function samlLogoutStartPath(name: string): string {
  return `${SAML_PATH}/${encodeURIComponent(name)}/slo/start`;
}

/**
 * A page that sends the browser on to the IdP's logout, by itself (meta refresh) or by its link.
 * Not a 302: the logout is a form POST, and the login pages' CSP (`form-action 'self'`) would
 * also govern a redirect of that POST's navigation to the IdP (Chromium blocks it); a refresh
 * or a followed link is a new navigation, which `form-action` does not restrict.
 */
function onTheWayPage(instanceName: string, title: string, url: string): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="0;url=${url}">
<title>Signing out · Capsule</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<header class="top"><span class="brand">Capsule</span><span class="instance">${instanceName}</span></header>
<main class="login">
<section class="card">
<h1>Signing out</h1>
<p>You are signed out here. Signing you out at ${title}…</p>
<p><a href="${url}">Continue to ${title}</a></p>
</section>
</main>
</body>
</html>
`;
}

/**
 * What Capsule's logout (`POST /system/sling/logout`, routes/auth.ts) does next for a user of a
 * provider that handles logout: the logout state cookie, and the same-site page that sends the
 * browser to the IdP. Null for everyone else.
 */
export function samlLogoutAfterLogout(deps: { samlLogout: SingleLogout; audit: Log }) {
  return async (userId: string, request: FastifyRequest): Promise<{ location: string; setCookie: string } | null> => {
    const begun = await deps.samlLogout.begin(userId);
    if (begun === null) return null;
    deps.audit.info({ event: 'logout', method: 'saml', initiatedBy: 'sp', outcome: 'sent-to-idp', userId, provider: begun.provider, clientAddress: request.ip }, 'logout: on to the identity provider');
    return { location: samlLogoutStartPath(begun.provider), setCookie: logoutCookie(begun.stateCookie, SAML_LOGOUT_LIFETIME_S) };
  };
}

/**
 * `GET /system/sling/saml/NAME/slo/start` sends the browser to the IdP with a LogoutRequest;
 * `GET /system/sling/saml/NAME/slo` takes the IdP's LogoutResponse (back to the login page,
 * signed out) or the IdP's own LogoutRequest (ends every token of the user it names, answers
 * with a LogoutResponse). Refusals: a page in plain words, log and audit with the values.
 */
export function samlLogoutRoutes(
  app: FastifyInstance,
  deps: { tokens: TokenHandler; saml: SamlLogin; samlLogout: SingleLogout; audit: Log; instanceName: () => string; page: (message: string, resource: string | null) => SafeHtml },
): void {
  const { samlLogout, audit } = deps;

  function refused(request: FastifyRequest, error: SamlLogoutError, name: string, initiatedBy: 'sp' | 'idp') {
    const fields = { provider: name, reason: error.reason, expected: error.expected, received: error.received };
    request.log.warn(fields, 'SAML logout message refused');
    audit.warn({ event: 'logout', method: 'saml', initiatedBy, outcome: 'refused', clientAddress: request.ip, ...fields }, 'SAML logout message refused');
  }

  app.get<{ Params: { name: string } }>(`${SAML_PATH}/:name/slo/start`, async (request, reply) => {
    const { name } = request.params;
    reply.header('cache-control', 'no-store');
    if (!deps.saml.names().includes(name)) return sendLoginPage(reply, 404, deps.page('There is no such sign-in option.', null));
    // Capsule's logout sends the browser here with a same-origin 303; another site linking here
    // would start the IdP's logout on its own (the Lax cookie goes along on a top-level GET).
    if (request.headers['sec-fetch-site'] === 'cross-site') {
      return sendLoginPage(reply, 403, deps.page('Signing out at the identity provider starts from the sign-out of this site only.', null));
    }
    try {
      const started = await samlLogout.requestUrl(name, { stateCookie: parseCookie(request.headers.cookie ?? '')[SAML_LOGOUT_COOKIE], sloUrl: sloUrlOf(request) });
      if (started === null) return sendLoginPage(reply, 400, deps.page('You are signed out here. No sign-out at the identity provider is under way in this browser.', null));
      reply.header('set-cookie', logoutCookie(started.stateCookie, SAML_LOGOUT_LIFETIME_S));
      return sendLoginPage(reply, 200, onTheWayPage(deps.instanceName(), deps.saml.settings(name).title, started.url));
    } catch (error) {
      if (error instanceof SamlLogoutError) return sendLoginPage(reply, 404, deps.page(error.userMessage, null));
      request.log.error({ err: error, provider: name }, 'SAML logout request could not be made');
      return sendLoginPage(reply, 500, deps.page('You are signed out here, but signing out at the identity provider cannot start: this site is not set up right. Please ask your administrator.', null));
    }
  });

  app.get<{ Params: { name: string } }>(`${SAML_PATH}/:name/slo`, async (request, reply) => {
    const { name } = request.params;
    reply.header('cache-control', 'no-store');
    if (!deps.saml.names().includes(name)) return sendLoginPage(reply, 404, deps.page('There is no such sign-in option.', null));
    const rawQuery = rawQueryOf(request);
    if (samlLogout.isRequest(rawQuery)) {
      try {
        const received = await samlLogout.receiveRequest(name, { rawQuery, sloUrl: sloUrlOf(request) });
        for (const userId of received.userIds) await deps.tokens.logoutEverywhere(userId);
        const found = received.userIds.length > 0;
        audit.info(
          { event: 'logout', method: 'saml', initiatedBy: 'idp', outcome: found ? 'success' : 'unknown-user', provider: name, userId: received.userIds[0] ?? null, ...(received.userIds.length > 1 ? { userIds: received.userIds } : {}), nameId: received.nameId, clientAddress: request.ip },
          found ? 'logged out everywhere at the identity provider’s request' : 'SAML logout request named no user of this provider',
        );
        return reply.code(302).header('location', await received.respond()).send();
      } catch (error) {
        if (!(error instanceof SamlLogoutError)) throw error;
        refused(request, error, name, 'idp');
        return sendLoginPage(reply, error.reason === 'not-handled' ? 404 : 400, deps.page(error.userMessage, null));
      }
    }
    // A LogoutResponse answers the one logout of this browser's state: whatever it says, the state is used up.
    reply.header('set-cookie', logoutCookie('', 0));
    try {
      await samlLogout.complete(name, { rawQuery, stateCookie: parseCookie(request.headers.cookie ?? '')[SAML_LOGOUT_COOKIE], sloUrl: sloUrlOf(request) });
      audit.info({ event: 'logout', method: 'saml', initiatedBy: 'sp', outcome: 'success', provider: name, clientAddress: request.ip }, 'logout completed at the identity provider');
      return reply.code(303).header('location', loginPageUrl(null, { j_notice: 'signed_out' })).send();
    } catch (error) {
      if (!(error instanceof SamlLogoutError)) throw error;
      refused(request, error, name, 'sp');
      return sendLoginPage(reply, error.reason === 'not-handled' ? 404 : 400, deps.page(error.userMessage, null));
    }
  });
}
