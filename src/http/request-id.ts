import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { TrustedProxies } from './trusted-proxies.js';

/** The header that carries a request id in and out. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** What a proxy may send as an id: short, printable, nothing a log reader would misread. */
const ACCEPTABLE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

interface RequestContext {
  readonly reqId: string;
}

/**
 * The request a piece of code runs for, so that every log line written while serving it (the
 * token handler's, the audit trail's, not only `request.log`'s) carries its id.
 */
const requestContext = new AsyncLocalStorage<RequestContext>();

/** Fastify's per-request loggers: they carry `reqId` as a binding already. */
const requestLoggers = new WeakSet<object>();

/** pino's `mixin`: adds `reqId` to a line written during a request by a logger that lacks it. */
export function requestIdMixin(_object: object, _level: number, logger: object): object {
  const context = requestContext.getStore();
  if (!context || requestLoggers.has(logger)) return {};
  return { reqId: context.reqId };
}

/**
 * The id of a request: the `X-Request-Id` a trusted proxy sent (so one id follows a request
 * through the load balancer and the instance), or a new random one. From anyone else the header
 * is ignored: a client could otherwise write what it likes into the log's request ids.
 */
export function requestIdOf(raw: IncomingMessage, trustedProxies: TrustedProxies | undefined): string {
  const sent = raw.headers[REQUEST_ID_HEADER];
  const peer = raw.socket.remoteAddress;
  if (typeof sent === 'string' && ACCEPTABLE_ID.test(sent) && peer !== undefined && trustedProxies?.isTrusted(peer)) return sent;
  return randomUUID();
}

/** Fastify options: ids from `requestIdOf`, never straight from the header, and request loggers marked. */
export function requestIdOptions(trustedProxies: TrustedProxies | undefined) {
  return {
    requestIdHeader: false as const,
    genReqId: (raw: IncomingMessage) => requestIdOf(raw, trustedProxies),
    childLoggerFactory(logger: FastifyBaseLogger, bindings: { reqId?: string }, options: object): FastifyBaseLogger {
      const child = logger.child(bindings, options);
      requestLoggers.add(child);
      return child;
    },
  };
}

const resources = new WeakMap<FastifyRequest, AsyncResource>();

/**
 * Echoes the id in `X-Request-Id` and runs the rest of the request in its context. The body is
 * read by stream callbacks outside that context, so it is entered again before validation (as
 * @fastify/request-context does).
 */
export function installRequestContext(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    requestContext.run({ reqId: request.id }, () => {
      resources.set(request, new AsyncResource('capsule-request'));
      done();
    });
  });
  app.addHook('preValidation', (request, _reply, done) => {
    const resource = resources.get(request);
    if (resource) resource.runInAsyncScope(done, undefined);
    else done();
  });
}
