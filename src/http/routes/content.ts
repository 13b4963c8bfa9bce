import type { FastifyInstance } from 'fastify';
import type { ContentService } from '../../content/index.js';
import { CapsuleError } from '../../errors.js';

/** `/content/a/b.json`, `.1.json`, `.2.json`: the node, with children to that depth. */
export function parseContentUrl(rest: string): { path: string; depth: number } {
  const match = /^(.*?)(?:\.(\d+))?\.json$/s.exec(rest);
  if (!match || !match[1]) throw new CapsuleError('INVALID_ARGUMENT', 'content is served as /content/<path>.json or /content/<path>.<depth>.json');
  return { path: `/content/${match[1]}`, depth: match[2] === undefined ? 0 : Number(match[2]) };
}

export function contentRoutes(app: FastifyInstance, deps: { content: ContentService }): void {
  app.get<{ Params: { '*': string } }>('/content/*', async (request, reply) => {
    // Fastify has decoded the path once already; decoding again turned %25zz into a 500.
    const { path, depth } = parseContentUrl(request.params['*']);
    const json = await deps.content.read(path, depth, request.session);
    // Protected content must not be kept by shared caches.
    reply.header('cache-control', request.session ? 'private, no-store' : 'public, max-age=0');
    return json;
  });
}
