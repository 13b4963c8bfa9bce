import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

/** The message of every access log line: what a reader filters on (`"msg":"request"`). */
export const ACCESS_LOG_MESSAGE = 'request';

/**
 * One line per answered request on the instance's log (`capsule start --access-log`): method,
 * path, status, time and request id, and the client's address (a trusted proxy's
 * X-Forwarded-For, else the peer). The query string is left out: a sign-in callback carries its
 * code and state there. No header is written, so no cookie, Authorization or token can be.
 * Installed only when asked for: without it, requests run no hook for it at all.
 */
export function installAccessLog(app: FastifyInstance, logger: FastifyBaseLogger): void {
  // Callback style, not async: every request runs this, and an async hook costs a promise.
  app.addHook('onResponse', (request, reply, done) => {
    const query = request.url.indexOf('?');
    logger.info(
      {
        method: request.method,
        path: query === -1 ? request.url : request.url.slice(0, query),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        reqId: request.id,
        client: request.ip,
      },
      ACCESS_LOG_MESSAGE,
    );
    done();
  });
}
