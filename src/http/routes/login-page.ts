import type { FastifyInstance, FastifyReply } from 'fastify';
import type { OidcLogin } from '../../auth/oidc/index.js';
import type { SamlLogin } from '../../auth/saml/index.js';
import { html, STYLESHEET_PATH, type SafeHtml } from '../../console/index.js';
import { safeResource } from './auth.js';

export const LOGIN_PAGE_PATH = '/system/sling/login';
/** "Your sessions" (routes/sessions-page.ts), linked from the signed-in state. */
const SESSIONS_PAGE_PATH = '/system/sessions';
export const OIDC_LOGIN_PATH = '/system/sling/oidc/login';
/** SAML routes: `<SAML_PATH>/<name>/login`, `/acs`, `/metadata`. */
export const SAML_PATH = '/system/sling/saml';

const REASONS: Readonly<Record<string, string>> = {
  invalid_login: 'User name or password is not right.',
  too_many_attempts: 'Too many failed attempts. Please wait a minute and try again.',
};

/** `?j_notice=`: what happened, in good news (not an error). */
const NOTICES: Readonly<Record<string, string>> = {
  signed_out: 'You are signed out, here and at your identity provider.',
  session_ended: 'You ended the session of this browser; sign in again to continue here.',
};

const HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
} as const;

export interface LoginPageOptions {
  readonly instanceName: string;
  /** Where to go after the login: a same-site path. */
  readonly resource: string;
  /** OpenID Connect providers. */
  readonly providers: ReadonlyArray<{ name: string; title: string }>;
  readonly samlProviders?: ReadonlyArray<{ name: string; title: string }>;
  /** Shown above the forms (plain words). */
  readonly error?: string | null;
  readonly notice?: string | null;
  readonly signedInAs?: string | null;
}

/** The query string of the login page that, once logged in, continues to `resource`. */
export function loginPageUrl(resource: string | null, extra: Record<string, string> = {}): string {
  const query = new URLSearchParams({ ...(resource ? { resource } : {}), ...extra }).toString();
  return query ? `${LOGIN_PAGE_PATH}?${query}` : LOGIN_PAGE_PATH;
}

export function renderLoginPage(options: LoginPageOptions): SafeHtml {
  const { resource } = options;
  const back = loginPageUrl(resource);
  const query = new URLSearchParams({ resource }).toString();
  const providers = [
    ...options.providers.map((provider) => ({ title: provider.title, href: `${OIDC_LOGIN_PATH}/${provider.name}?${query}` })),
    ...(options.samlProviders ?? []).map((provider) => ({ title: provider.title, href: `${SAML_PATH}/${provider.name}/login?${query}` })),
  ];
  const providerLinks = providers.map((provider) => html`<li><a class="sso" href="${provider.href}">Sign in with ${provider.title}</a></li>`);
  const body = options.signedInAs
    ? html`<p>You are signed in as <strong>${options.signedInAs}</strong>.</p>
<p><a href="${resource}">Continue</a> · <a href="${SESSIONS_PAGE_PATH}">Your sessions</a> (every device you are signed in on)</p>
<form method="post" action="/system/sling/logout"><input type="hidden" name="resource" value="${LOGIN_PAGE_PATH}"><div class="actions"><button type="submit" class="secondary">Sign out</button></div></form>`
    : html`${options.error && html`<p class="notice error" role="alert">${options.error}</p>`}${options.notice && html`<p class="notice ok" role="status">${options.notice}</p>`}
${providers.length > 0 && html`<ul class="providers" aria-label="Single sign-on">${providerLinks}</ul><p class="or">or with a password</p>`}
<form method="post" action="/j_security_check">
  <input type="hidden" name="resource" value="${back}">
  <div class="field"><label for="j_username">User</label><input type="text" id="j_username" name="j_username" autocomplete="username" required${providers.length === 0 ? html` autofocus` : ''}></div>
  <div class="field"><label for="j_password">Password</label><input type="password" id="j_password" name="j_password" autocomplete="current-password" required></div>
  <div class="actions"><button type="submit">Sign in</button></div>
</form>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Capsule</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<header class="top"><span class="brand">Capsule</span><span class="instance">${options.instanceName}</span></header>
<main class="login">
<section class="card">
<h1>Sign in</h1>
${body}
</section>
</main>
</body>
</html>
`;
}

export function sendLoginPage(reply: FastifyReply, status: number, page: SafeHtml): FastifyReply {
  return reply.code(status).headers(HEADERS).type('text/html; charset=utf-8').send(page.text);
}

/**
 * `GET /system/sling/login`: the public login page. `?resource=/path` (a path on this site only,
 * anything else is ignored) is where a successful login goes; a visitor already signed in goes
 * there at once.
 */
export function loginPageRoutes(app: FastifyInstance, deps: { instanceName: () => string; oidc: OidcLogin; saml: SamlLogin }): void {
  app.get(LOGIN_PAGE_PATH, async (request, reply) => {
    const query = (request.query ?? {}) as Record<string, unknown>;
    const requested = safeResource(query.resource);
    if (request.session && requested) return reply.code(303).header('location', requested).header('cache-control', 'no-store').send();
    const reason = typeof query.j_reason === 'string' && Object.hasOwn(REASONS, query.j_reason) ? REASONS[query.j_reason] : null;
    const notice = typeof query.j_notice === 'string' && Object.hasOwn(NOTICES, query.j_notice) ? NOTICES[query.j_notice] : null;
    return sendLoginPage(
      reply,
      request.session ? 200 : reason ? 401 : 200,
      renderLoginPage({
        instanceName: deps.instanceName(),
        resource: requested ?? LOGIN_PAGE_PATH,
        providers: deps.oidc.providers(),
        samlProviders: deps.saml.providers(),
        error: reason,
        notice,
        signedInAs: request.session?.userId ?? null,
      }),
    );
  });
}
