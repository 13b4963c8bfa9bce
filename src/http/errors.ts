import type { FastifyError, FastifyInstance } from 'fastify';
import { isCapsuleError } from '../errors.js';
import { STATUS_OF } from './error-status.js';

/**
 * Client errors get 4xx with `{ error: { code, message } }`; anything unexpected is logged
 * and answered with a bare 500, so no internal detail (or secret) reaches a client.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isCapsuleError(error)) {
      const status = STATUS_OF[error.code];
      if (status >= 500) request.log.error({ err: error }, 'request failed');
      return reply.code(status).send({ error: { code: error.code, message: status >= 500 ? 'internal error' : error.message } });
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      return reply.code(status).send({ error: { code: error.code ?? 'INVALID_ARGUMENT', message: error.message } });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'NOT_FOUND', message: `nothing at ${request.method} ${request.url.split('?')[0]}` } }),
  );
}
