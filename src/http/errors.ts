import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isCapsuleError, type ErrorCode } from '../errors.js';
import { REPOSITORY_UNAVAILABLE_MESSAGE } from '../health/index.js';
import { STATUS_OF } from './error-status.js';

const CODE_OF_CLIENT_STATUS: Readonly<Record<number, ErrorCode>> = {
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  429: 'TOO_MANY_REQUESTS',
};

/** 5xx codes whose message is written for the client (it names no internal detail): said as is. */
const MESSAGE_FOR_CLIENTS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['SIGN_IN_UNAVAILABLE']);

/**
 * What a client reads for a 5xx whose own message names internals (a PostgreSQL host and
 * database): the cause, without them. Any other 5xx says "internal error".
 */
const CLIENT_MESSAGE_OF: Readonly<Partial<Record<ErrorCode, string>>> = { REPOSITORY_UNAVAILABLE: REPOSITORY_UNAVAILABLE_MESSAGE };

/** Told when a request fails because the repository cannot serve it (readiness follows at once). */
export type RepositoryUnavailableListener = (error: Error) => void;

/**
 * Client errors get 4xx with `{ error: { code, message } }`; anything unexpected is logged
 * and answered with a bare 500, so no internal detail (or secret) reaches a client.
 */
export function installErrorHandling(app: FastifyInstance, onRepositoryUnavailable: RepositoryUnavailableListener): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isCapsuleError(error)) {
      const status = STATUS_OF[error.code];
      if (status >= 500) request.log.error({ err: error }, 'request failed');
      if (error.code === 'REPOSITORY_UNAVAILABLE') onRepositoryUnavailable(error);
      return reply.code(status).send({ error: { code: error.code, message: status < 500 || MESSAGE_FOR_CLIENTS.has(error.code) ? error.message : (CLIENT_MESSAGE_OF[error.code] ?? 'internal error') } });
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      // Fastify's own codes (FST_ERR_…) are not ours: a client sees a code from the one table.
      return reply.code(status).send({ error: { code: CODE_OF_CLIENT_STATUS[status] ?? 'INVALID_ARGUMENT', message: error.message } });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
  app.setNotFoundHandler(answerNotFound);
}

/** The answer to a path no route serves; a scope that answers its own unknown paths answers the same. */
export function answerNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(STATUS_OF.NOT_FOUND).send({ error: { code: 'NOT_FOUND' satisfies ErrorCode, message: `nothing at ${request.method} ${request.url.split('?')[0]}` } });
}
