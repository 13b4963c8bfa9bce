import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the server answers at a path: a status and body, or a stall that lasts until the server closes. */
export type MetadataAnswer =
  | { readonly status?: number; readonly body: string | Buffer; readonly headers?: Readonly<Record<string, string>>; readonly chunked?: boolean }
  /** Takes the request and never answers. */
  | 'no-answer'
  /** Sends the status line and a first part of the body, then nothing more. */
  | 'stalled-body';

export interface MetadataServer {
  readonly origin: string;
  /** Answers `answer` at `path` from now on; returns the URL. */
  serve(path: string, answer: MetadataAnswer): string;
  /** How many requests reached `path`. */
  requests(path: string): number;
  close(): Promise<void>;
}

/** A plain HTTP server on 127.0.0.1 for the ways an IdP's metadata URL can fail (and an answer that works). */
export async function startMetadataServer(): Promise<MetadataServer> {
  const answers = new Map<string, MetadataAnswer>();
  const counts = new Map<string, number>();
  const server = createServer((request, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const answer = answers.get(path);
    if (answer === undefined) return response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    if (answer === 'no-answer') return;
    if (answer === 'stalled-body') {
      response.writeHead(200, { 'content-type': 'application/samlmetadata+xml' });
      response.write('<?xml version="1.0"?>\n<md:EntityDescriptor');
      return;
    }
    response.writeHead(answer.status ?? 200, { 'content-type': 'application/samlmetadata+xml', ...answer.headers });
    if (answer.chunked) {
      // Without a Content-Length: the client must stop reading by itself.
      const body = Buffer.from(answer.body);
      for (let at = 0; at < body.length; at += 64 * 1024) response.write(body.subarray(at, at + 64 * 1024));
      response.end();
    } else {
      response.end(answer.body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    serve(path, answer) {
      answers.set(path, answer);
      return `${origin}${path}`;
    },
    requests: (path) => counts.get(path) ?? 0,
    close: async () => {
      server.closeAllConnections(); // the stalled answers
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
