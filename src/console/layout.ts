import { CSRF_FIELD } from './csrf.js';
import { html, type SafeHtml } from './html.js';
import { STYLESHEET_PATH } from './stylesheet.js';
import type { PageContext } from './types.js';

export const CONSOLE_ROOT = '/system/console';
export const REPOSITORY_BROWSER_PATH = '/crx/de';

const NAVIGATION: ReadonlyArray<{ path: string; label: string }> = [
  { path: `${CONSOLE_ROOT}/configMgr`, label: 'Configuration' },
  { path: `${CONSOLE_ROOT}/components`, label: 'Components' },
  { path: `${CONSOLE_ROOT}/healthcheck`, label: 'Health' },
  { path: `${CONSOLE_ROOT}/crypto`, label: 'Crypto' },
  { path: `${CONSOLE_ROOT}/users`, label: 'Users' },
  { path: `${CONSOLE_ROOT}/replication`, label: 'Replication' },
  { path: REPOSITORY_BROWSER_PATH, label: 'Repository' },
];

function document(title: string, body: SafeHtml): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Capsule</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
${body}
</body>
</html>
`;
}

/** A console page: the top bar, the common navigation, then the page's content. */
export function consolePage(context: PageContext, title: string, content: SafeHtml): SafeHtml {
  const navigation = NAVIGATION.map(
    ({ path, label }) => html`<a href="${path}"${path === context.path ? html` class="current" aria-current="page"` : ''}>${label}</a>`,
  );
  return document(
    title,
    html`<header class="top">
  <span class="brand">Capsule</span>
  <span class="instance">${context.instanceName}</span>
  <form class="who" method="post" action="/system/sling/logout">
    <span>Signed in as <strong>${context.session.userId}</strong></span>
    <input type="hidden" name="resource" value="${context.path}">${csrfField(context)}
    <button type="submit">Log out</button>
  </form>
</header>
<nav class="main" aria-label="Console">${navigation}</nav>
<main>
<h1>${title}</h1>
${content}
</main>`,
  );
}

/** For visitors who are not logged in: a form that logs in and comes back to `resource`. */
export function loginPage(resource: string, reason: string | null, instanceName: string): SafeHtml {
  return document(
    'Log in',
    html`<header class="top"><span class="brand">Capsule</span><span class="instance">${instanceName}</span></header>
<main class="login">
<section class="card">
<h1>Log in</h1>
<p class="description">The web console is for administrators.</p>
${reason && html`<p class="notice error" role="alert">${reason}</p>`}
<form method="post" action="/j_security_check">
  <input type="hidden" name="resource" value="${resource}">
  <div class="field"><label for="j_username">User</label><input type="text" id="j_username" name="j_username" autocomplete="username" required autofocus></div>
  <div class="field"><label for="j_password">Password</label><input type="password" id="j_password" name="j_password" autocomplete="current-password" required></div>
  <div class="actions"><button type="submit">Log in</button></div>
</form>
</section>
</main>`,
  );
}

/** 403, 404 and 500 pages, with a way back. */
export function messagePage(title: string, message: string, instanceName: string): SafeHtml {
  return document(
    title,
    html`<header class="top"><span class="brand">Capsule</span><span class="instance">${instanceName}</span></header>
<main class="login">
<section class="card">
<h1>${title}</h1>
<p>${message}</p>
<p><a href="${CONSOLE_ROOT}/configMgr">Web console</a> · <a href="/">Home</a></p>
</section>
</main>`,
  );
}

/** A green or red line above a page's content. */
export function notice(kind: 'ok' | 'error', message: string | null | undefined): SafeHtml {
  return message ? html`<p class="notice ${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${message}</p>` : html``;
}

/** The hidden CSRF field every console form starts with. */
export function csrfField(context: PageContext): SafeHtml {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${context.csrfToken}">`;
}
