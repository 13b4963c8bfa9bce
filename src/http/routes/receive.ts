import type { FastifyInstance } from 'fastify';
import { CapsuleError } from '../../errors.js';
import { MAX_PACKAGE_BYTES, parsePackage, REPLICATION_RECEIVERS, type Receiver } from '../../replication/index.js';
import { ADMINISTRATORS } from '../../users/index.js';
import { requireSession } from '../guards.js';

export const RECEIVE_PATH = '/bin/receive';

/**
 * The publish side of replication: a member of replication-receivers (or an administrator)
 * posts a package; it is applied whole, once, and in order per source.
 */
export function receiveRoutes(app: FastifyInstance, deps: { receiver: Receiver }): void {
  // Users and groups it applies reach the token caches through the users counter its transaction bumps.
  const { receiver } = deps;
  app.post(RECEIVE_PATH, { bodyLimit: MAX_PACKAGE_BYTES }, async (request, reply) => {
    const session = requireSession(request);
    if (!session.groups.includes(REPLICATION_RECEIVERS) && !session.groups.includes(ADMINISTRATORS)) {
      throw new CapsuleError('FORBIDDEN', `only members of ${REPLICATION_RECEIVERS} (or administrators) may post replication packages`);
    }
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      throw new CapsuleError('REPLICATION_PACKAGE_INVALID', 'malformed replication package: send it as application/json');
    }
    const pkg = parsePackage(request.body);
    const result = await receiver.receive(pkg);
    reply.header('cache-control', 'no-store');
    if (result.outcome === 'gap') {
      return reply.code(409).send({
        error: {
          code: 'REPLICATION_OUT_OF_ORDER',
          message: `package ${result.sequence} of source ${pkg.source} is out of order: expected package ${result.expected}`,
        },
        expected: result.expected,
      });
    }
    return result;
  });
}
