import type { FastifyInstance } from 'fastify';
import type { ContentService } from '../../content/index.js';
import { CapsuleError } from '../../errors.js';

/** `/content/a/b.json`, `.1.json`, `.2.json`: the node, with children to that depth. */
export function parseContentUrl(rest: string): { path: string; depth: number } {
  const match = /^(.*?)(?:\.(\d+))?\.json$/s.exec(rest);
  if (!match || !match[1]) throw new CapsuleError('INVALID_ARGUMENT', 'content is served as /content/<path>.json or /content/<path>.<depth>.json');
  return { path: `/content/${match[1]}`, depth: match[2] === undefined ? 0 : Number(match[2]) };
}

const JSON_TYPE = 'application/json; charset=utf-8';

export function contentRoutes(app: FastifyInstance, deps: { content: ContentService }): void {
  // Not async: a response the content service kept is sent without a promise being made (the
  // anonymous GET of a page is the request a site serves most).
  app.get<{ Params: { '*': string } }>('/content/*', (request, reply) => {
    // Fastify has decoded the path once already; decoding again turned %25zz into a 500.
    const { path, depth } = parseContentUrl(request.params['*']);
    // Protected content must not be kept by shared caches. A string goes out as it is: it was
    // serialised once, when it was kept; a refusal keeps the error handler's headers.
    const answer = (text: string) => {
      reply.header('cache-control', request.session ? 'private, no-store' : 'public, max-age=0').type(JSON_TYPE);
      return text;
    };
    const json = deps.content.readSerialized(path, depth, request.session);
    return typeof json === 'string' ? reply.send(answer(json)) : json.then(answer);
  });
}
