import { AsyncLocalStorage } from 'node:async_hooks';
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

type LogArguments = Parameters<FastifyBaseLogger['info']>;

/**
 * A request's logger, made when something first logs through it. Why: Fastify makes one per
 * request, and a pino child (bindings serialised, redaction set up) cost more than the rest of an
 * anonymous GET's own work, for a logger most requests never write to.
 */
class LazyRequestLogger {
  #child: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: { reqId?: string },
    private readonly options: { level?: string },
  ) {}

  #logger(): FastifyBaseLogger {
    if (!this.#child) {
      this.#child = this.parent.child(this.bindings, this.options);
      requestLoggers.add(this.#child);
    }
    return this.#child;
  }

  get level(): string {
    return this.#child?.level ?? this.options.level ?? this.parent.level;
  }
  set level(level: string) {
    this.#logger().level = level;
  }
  fatal(...args: LogArguments): void {
    this.#logger().fatal(...args);
  }
  error(...args: LogArguments): void {
    this.#logger().error(...args);
  }
  warn(...args: LogArguments): void {
    this.#logger().warn(...args);
  }
  info(...args: LogArguments): void {
    this.#logger().info(...args);
  }
  debug(...args: LogArguments): void {
    this.#logger().debug(...args);
  }
  trace(...args: LogArguments): void {
    this.#logger().trace(...args);
  }
  silent(): void {}
  child(bindings: Record<string, unknown>, options?: object): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }
}

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
export function requestIdOf(raw: IncomingMessage, trustedProxies: TrustedProxies): string {
  const sent = raw.headers[REQUEST_ID_HEADER];
  const peer = raw.socket.remoteAddress;
  if (typeof sent === 'string' && ACCEPTABLE_ID.test(sent) && peer !== undefined && trustedProxies.isTrusted(peer)) return sent;
  return randomUUID();
}

/** Fastify options: ids from `requestIdOf`, never straight from the header, and request loggers marked. */
export function requestIdOptions(trustedProxies: TrustedProxies) {
  return {
    requestIdHeader: false as const,
    genReqId: (raw: IncomingMessage) => requestIdOf(raw, trustedProxies),
    childLoggerFactory(logger: FastifyBaseLogger, bindings: { reqId?: string }, options: { level?: string }): FastifyBaseLogger {
      return new LazyRequestLogger(logger, bindings, options);
    },
  };
}

/**
 * Echoes the id in `X-Request-Id` and runs the rest of the request in its context. A body is
 * read by stream callbacks outside that context, so validation, which runs once the body is in,
 * enters it again when it finds itself outside (as @fastify/request-context does). A request
 * without a body never leaves it: promises and callbacks made within carry it along.
 */
export function installRequestContext(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    requestContext.run({ reqId: request.id }, done);
  });
  app.addHook('preValidation', (request, _reply, done) => {
    if (requestContext.getStore()?.reqId === request.id) done();
    else requestContext.run({ reqId: request.id }, done);
  });
}
