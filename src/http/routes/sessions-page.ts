import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TokenHandler } from '../../auth/index.js';
import { CSRF_FIELD, csrfTokenFor, effectiveLoginToken, html, isValidCsrfToken, sessionTable, STYLESHEET_PATH, type SafeHtml } from '../../console/index.js';
import type { CryptoSupport } from '../../crypto/index.js';
import type { SessionRegistry } from '../../sessions/registry-types.js';
import { loginPageUrl, sendLoginPage } from './login-page.js';
import { clearCookieIfCurrent, currentSessionOf } from './sessions.js';

export const SESSIONS_PAGE_PATH = '/system/sessions';

/** What a finished action says after the redirect; keyed, so a crafted link cannot put words on the page. */
const DONE: Readonly<Record<string, string>> = {
  revoked: 'The session is ended: its device is signed out within a second, on every instance.',
  others: 'Every other session is ended: those devices are signed out within a second, on every instance.',
};

export interface SessionsPageDeps {
  readonly instanceName: () => string;
  readonly sessions: SessionRegistry;
  readonly tokens: TokenHandler;
  readonly services: { readonly crypto: CryptoSupport };
}

function field(body: unknown, name: string): string {
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : '';
}

function documentOf(instanceName: string, userId: string, content: SafeHtml): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your sessions · Capsule</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<header class="top"><span class="brand">Capsule</span><span class="instance">${instanceName}</span><span class="who"><span>Signed in as <strong>${userId}</strong></span></span></header>
<main>
<h1>Your sessions</h1>
${content}
</main>
</body>
</html>
`;
}

/**
 * `GET /system/sessions` "Your sessions": every device the signed-in user signed in on, this one
 * marked, with a Revoke button for each other one and "Sign out other sessions"; `POST` to the
 * same path does what the buttons say. Forms carry the console's CSRF token (console/csrf.ts), and
 * a post from another site was already refused (origin-check.ts). Anonymous visitors go to the
 * login page, which comes back here.
 */
export function sessionsPageRoutes(app: FastifyInstance, deps: SessionsPageDeps): void {
  const { sessions, tokens } = deps;
  const toLogin = (reply: FastifyReply) => reply.code(303).header('location', loginPageUrl(SESSIONS_PAGE_PATH)).header('cache-control', 'no-store').send();

  async function render(request: FastifyRequest, reply: FastifyReply, messages: { ok?: string | null; error?: string | null }, status = 200): Promise<FastifyReply> {
    const session = request.session!;
    const loginToken = effectiveLoginToken(request, reply, tokens);
    const csrf = loginToken ? csrfTokenFor(deps.services.crypto, loginToken) : '';
    const views = await sessions.list(session.userId, currentSessionOf(request));
    const others = views.filter((view) => view.state === 'active' && !view.current);
    const form = (action: string, label: string, extra: SafeHtml | '' = '') =>
      html`<form method="post" action="${SESSIONS_PAGE_PATH}" class="inline"><input type="hidden" name="${CSRF_FIELD}" value="${csrf}"><input type="hidden" name="action" value="${action}">${extra}<button type="submit" class="secondary">${label}</button></form>`;
    const content = html`<p class="lead">Every device and browser signed in as <strong>${session.userId}</strong>. Revoke one you do not recognise; it is signed out on every instance within a second.</p>
${messages.ok && html`<p class="notice ok" role="status">${messages.ok}</p>`}${messages.error && html`<p class="notice error" role="alert">${messages.error}</p>`}
<section class="card">
${sessionTable(views, (view) => view.state === 'active' && !view.current && form('revoke', 'Revoke', html`<input type="hidden" name="session" value="${view.id}">`))}
${others.length > 0 && html`<div class="actions">${form('revoke-others', 'Sign out other sessions')}</div>`}
</section>
<p><a href="/system/sling/login">Back</a></p>`;
    return sendLoginPage(reply, status, documentOf(deps.instanceName(), session.userId, content));
  }

  app.get(SESSIONS_PAGE_PATH, async (request, reply) => {
    if (!request.session) return toLogin(reply);
    const done = (request.query as Record<string, unknown>).done;
    return render(request, reply, { ok: typeof done === 'string' && Object.hasOwn(DONE, done) ? DONE[done] : null });
  });

  app.post(SESSIONS_PAGE_PATH, async (request, reply) => {
    const session = request.session;
    if (!session) return toLogin(reply);
    if (!isValidCsrfToken(deps.services.crypto, tokens.tokenOf(request), field(request.body, CSRF_FIELD))) {
      return render(request, reply, { error: 'The form was not sent from this page, or it has expired; nothing was changed. Try again.' }, 403);
    }
    const action = field(request.body, 'action');
    if (action === 'revoke-others') {
      await sessions.revokeOthers(session.userId, currentSessionOf(request), session.userId);
      return reply.code(303).header('location', `${SESSIONS_PAGE_PATH}?done=others`).send();
    }
    if (action !== 'revoke') return render(request, reply, { error: 'Unknown action; nothing was changed.' }, 400);
    const revoked = await sessions.revoke(session.userId, field(request.body, 'session'), session.userId);
    if (!revoked) return render(request, reply, { error: 'That session is already ended, or is not one of yours; nothing was changed.' }, 404);
    if (clearCookieIfCurrent(request, reply, tokens, revoked.id)) return reply.code(303).header('location', loginPageUrl(null, { j_notice: 'session_ended' })).send();
    return reply.code(303).header('location', `${SESSIONS_PAGE_PATH}?done=revoked`).send();
  });
}
