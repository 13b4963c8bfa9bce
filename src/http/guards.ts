import type { FastifyRequest } from 'fastify';
import type { Session } from '../auth/index.js';
import { CapsuleError } from '../errors.js';
import { ADMINISTRATORS } from '../users/index.js';

export function requireSession(request: FastifyRequest): Session {
  if (!request.session) throw new CapsuleError('UNAUTHENTICATED', 'log in first');
  return request.session;
}

export function requireAdministrator(request: FastifyRequest): Session {
  const session = requireSession(request);
  if (!session.groups.includes(ADMINISTRATORS)) throw new CapsuleError('FORBIDDEN', 'administrators only');
  return session;
}
