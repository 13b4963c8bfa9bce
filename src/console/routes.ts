import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isCapsuleError } from '../errors.js';
import { REPOSITORY_CHECK, REPOSITORY_UNAVAILABLE_MESSAGE } from '../health/index.js';
import { ADMINISTRATORS } from '../users/index.js';
import { CSRF_FIELD, csrfTokenFor, effectiveLoginToken, isValidCsrfToken } from './csrf.js';
import type { SafeHtml } from './html.js';
import { CONSOLE_ROOT, loginPage, messagePage } from './layout.js';
import type { ConsolePage, PageResult } from './page.js';
import { componentsPage } from './pages/components.js';
import { configManagerPage } from './pages/config-manager.js';
import { cryptoPage } from './pages/crypto.js';
import { healthPage } from './pages/health.js';
import { replicationPage } from './pages/replication.js';
import { repositoryBrowserPage } from './pages/repository-browser.js';
import { usersPage } from './pages/users.js';
import { STYLESHEET, STYLESHEET_PATH } from './stylesheet.js';
import type { ConsoleDeps, ConsoleServices, FormBody, PageContext } from './types.js';

/** Pages may load only this site's stylesheet, run no script, be framed by no one, and post only here. */
const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const LOGIN_REASONS: Readonly<Record<string, string>> = {
  invalid_login: 'Invalid user name or password.',
  too_many_attempts: 'Too many failed logins; wait a while and try again.',
};

/** Form and query fields as single strings: a repeated field counts once (its first value). */
function fieldsOf(value: unknown): FormBody {
  const fields: Record<string, string> = {};
  if (value && typeof value === 'object') {
    for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
      const first: unknown = Array.isArray(entry) ? entry[0] : entry;
      if (typeof first === 'string') fields[key] = first;
    }
  }
  return fields;
}

/**
 * What a console form asked for, for the audit trail: the action and its target (a PID, a user,
 * a group), never a value typed in (a property may be a secret, a field a password).
 */
function changeOf(form: FormBody): Record<string, string> {
  const change: Record<string, string> = {};
  for (const key of ['action', 'pid', 'name', 'user', 'group', 'session'] as const) {
    const value = form[key];
    if (value !== undefined && value !== '') change[key] = value.slice(0, 200);
  }
  return change;
}

function sendHtml(reply: FastifyReply, status: number, body: SafeHtml): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(body.text);
}

function pathOf(request: FastifyRequest): string {
  return request.url.split('?')[0] ?? request.url;
}

function createPages(deps: ConsoleDeps, services: ConsoleServices): ConsolePage[] {
  return [
    configManagerPage(services.config),
    componentsPage(deps, services),
    healthPage(deps.health, deps.instanceName),
    cryptoPage(deps, services),
    usersPage(services.users, deps.tokens, deps.bruteForce, services.clock, deps.sessions),
    replicationPage(services),
    repositoryBrowserPage(services.repo),
  ];
}

/**
 * The web console (under /system/console) and the repository browser (/crx/de), for
 * administrators only. Registered in its own encapsulated context, so its HTML error pages
 * and headers leave the JSON API alone.
 */
export async function consoleRoutes(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const { services } = deps;
  const pages = createPages(deps, services);

  await app.register(async (scope) => {
    scope.addHook('onRequest', async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('x-frame-options', 'DENY');
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'same-origin');
    });

    scope.setErrorHandler((error, request, reply) => {
      const status = typeof (error as { statusCode?: unknown }).statusCode === 'number' ? (error as { statusCode: number }).statusCode : 500;
      if (status < 500) return sendHtml(reply, status, messagePage('Bad request', 'The request could not be read.', deps.instanceName()));
      request.log.error({ err: error }, 'console request failed');
      if (isCapsuleError(error, 'REPOSITORY_UNAVAILABLE')) {
        deps.health.suspect(REPOSITORY_CHECK);
        return sendHtml(reply, 503, messagePage('Repository unavailable', `${REPOSITORY_UNAVAILABLE_MESSAGE}.`, deps.instanceName()));
      }
      return sendHtml(reply, 500, messagePage('Something went wrong', 'The console could not do that; the instance log has the details.', deps.instanceName()));
    });

    /** Administrators pass (the context); everyone else gets the login page or 403 and null. */
    function admit(request: FastifyRequest, reply: FastifyReply, resource: string): PageContext | null {
      const session = request.session;
      if (!session) {
        const code = fieldsOf(request.query).j_reason ?? '';
        const reason = Object.hasOwn(LOGIN_REASONS, code) ? (LOGIN_REASONS[code] ?? null) : null;
        sendHtml(reply, 401, loginPage(resource, reason, deps.instanceName()));
        return null;
      }
      if (!session.groups.includes(ADMINISTRATORS)) {
        sendHtml(reply, 403, messagePage('Forbidden', `The web console is for administrators; ${session.userId} is not one.`, deps.instanceName()));
        return null;
      }
      const loginToken = effectiveLoginToken(request, reply, deps.tokens);
      return {
        session,
        csrfToken: loginToken ? csrfTokenFor(services.crypto, loginToken) : '',
        path: pathOf(request),
        instanceName: deps.instanceName(),
        async signInAgain(user) {
          const issued = await deps.tokens.issue(user, { signIn: { method: 'password', clientAddress: request.ip, userAgent: String(request.headers['user-agent'] ?? '') } });
          return deps.tokens.cookieFor(issued.token, issued.session, request.protocol === 'https');
        },
      };
    }

    function respond(reply: FastifyReply, result: PageResult): FastifyReply {
      if (result.kind === 'redirect') {
        if (result.setCookie !== undefined) reply.header('set-cookie', result.setCookie);
        return reply.code(303).header('location', result.location).send();
      }
      return sendHtml(reply, result.status, result.content);
    }

    scope.get(STYLESHEET_PATH, async (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET));
    scope.get(CONSOLE_ROOT, async (_request, reply) => reply.code(302).header('location', `${CONSOLE_ROOT}/configMgr`).send());

    for (const page of pages) {
      scope.get(page.path, async (request, reply) => {
        const query = fieldsOf(request.query);
        const { j_reason: _reason, ...rest } = query;
        const resource = Object.keys(rest).length > 0 ? `${page.path}?${new URLSearchParams(rest).toString()}` : page.path;
        const context = admit(request, reply, resource);
        if (!context) return reply;
        return respond(reply, await page.render(context, query));
      });
      if (!page.submit) continue;
      const submit = page.submit;
      scope.post(page.path, async (request, reply) => {
        const context = admit(request, reply, page.path);
        if (!context) return reply;
        const form = fieldsOf(request.body);
        // A request that a browser says came from another site was refused before this (http/origin-check.ts).
        if (!isValidCsrfToken(services.crypto, deps.tokens.tokenOf(request), form[CSRF_FIELD])) {
          return sendHtml(
            reply,
            403,
            messagePage('Forbidden', 'The form was not sent from this console, or it has expired; nothing was changed. Open the page again and retry.', context.instanceName),
          );
        }
        const result = await submit(context, form);
        deps.audit.info(
          {
            event: 'console-change',
            by: context.session.userId,
            clientAddress: request.ip,
            page: page.path,
            ...changeOf(form),
            outcome: result.kind === 'redirect' ? 'done' : result.status < 400 ? 'shown' : 'refused',
          },
          'console change',
        );
        return respond(reply, result);
      });
    }
  });
}
