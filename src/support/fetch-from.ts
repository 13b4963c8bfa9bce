import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface FetchFromInit {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | URLSearchParams;
  readonly signal?: AbortSignal;
  /** Only 'manual': redirects are never followed. */
  readonly redirect?: 'manual';
}

/**
 * `fetch`, but its connection leaves from `localAddress`. Why: on one machine the kernel sends
 * every loopback connection from 127.0.0.1, whoever makes it; a local farm's author (127.0.0.2)
 * would reach its publishes with the load balancer's address, which they trust as a proxy and
 * log. Global fetch cannot choose its source address without undici's Agent, which is no
 * dependency of ours. Never follows redirects (as `redirect: 'manual'`).
 */
/** A publish's answers are a few hundred bytes (a login, an applied package); more is refused. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export function fetchFrom(localAddress: string): (url: string, init: FetchFromInit) => Promise<Response> {
  return (url, init) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const body = init.body === undefined ? undefined : Buffer.from(String(init.body), 'utf8');
      const request = (target.protocol === 'https:' ? httpsRequest : httpRequest)(
        target,
        {
          method: init.method,
          localAddress,
          signal: init.signal,
          headers: { ...init.headers, ...(body && { 'content-length': String(body.length) }) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) {
              request.destroy(new Error(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          response.on('error', reject);
          response.on('end', () => {
            // Anything a peer sends must end in a rejection, never a throw in this listener (which
            // would end the process): Response refuses a status outside 200–599, for one.
            try {
              const headers = new Headers();
              for (const [name, value] of Object.entries(response.headers)) {
                for (const each of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, each);
              }
              const status = response.statusCode ?? 502;
              const nullBody = status === 204 || status === 304 || (status >= 100 && status < 200);
              resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, headers }));
            } catch (error) {
              reject(new TypeError('fetch failed', { cause: error }));
            }
          });
        },
      );
      // As fetch rejects: a TypeError whose cause holds the system error (ECONNREFUSED…).
      request.on('error', (error) => reject(init.signal?.aborted ? error : new TypeError('fetch failed', { cause: error })));
      request.end(body);
    });
}
