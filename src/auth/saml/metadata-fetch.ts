import { CapsuleError } from '../../errors.js';
import { isSafeForCredentials } from '../../support/loopback.js';
import { MAX_METADATA_BYTES } from './idp-metadata.js';

/** How long the whole fetch (redirects and body included) may take before it counts as unreachable. */
export const METADATA_FETCH_TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 3;

/** Fetches an identity provider's metadata document by URL; throws SAML_METADATA_UNREACHABLE with a one-line reason. */
export type IdpMetadataFetch = (url: string) => Promise<string>;

function unreachable(reason: string): CapsuleError {
  return new CapsuleError('SAML_METADATA_UNREACHABLE', reason);
}

/** What a failed `fetch` says in a line: its cause's code and message (undici hides them under "fetch failed"). */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.message ?? (error as Error).message;
}

/** The body as text, refused as soon as it passes the parser's limit (a federation aggregate, or an endless stream). */
async function boundedText(response: Response): Promise<string> {
  const tooLarge = () => unreachable(`answered more than ${MAX_METADATA_BYTES} bytes (1 MiB), more than one identity provider's metadata`);
  const declared = Number(response.headers.get('content-length'));
  if (declared > MAX_METADATA_BYTES) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (response.body === null) return '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_METADATA_BYTES) throw tooLarge(); // leaving the loop cancels the stream
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * GETs metadata over https (plain http only to a loopback address, as for every IdP URL), following
 * at most three redirects and none from https to http, within `timeoutMs` for the whole exchange,
 * reading at most the parser's 1 MiB. The reasons thrown name no URL: callers say which one.
 */
export async function fetchIdpMetadata(url: string, options: { timeoutMs?: number } = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? METADATA_FETCH_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  let current = new URL(url);
  if (!isSafeForCredentials(current)) throw unreachable('is not https (plain http only to a loopback address)');
  try {
    for (let redirects = 0; ; redirects++) {
      const response = await fetch(current, { redirect: 'manual', signal, headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' } });
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel();
        const next = new URL(location, current);
        // A downgrade would let anyone on the path replace the certificates that are about to be trusted.
        if ((current.protocol === 'https:' && next.protocol !== 'https:') || !isSafeForCredentials(next)) throw unreachable(`redirects to ${next.href}, which is not https`);
        if (redirects === MAX_REDIRECTS) throw unreachable(`redirects more than ${MAX_REDIRECTS} times`);
        current = next;
        continue;
      }
      if (response.status !== 200) {
        await response.body?.cancel();
        throw unreachable(`answered HTTP ${response.status}${redirects > 0 ? ` (at ${current.href})` : ''}`);
      }
      return await boundedText(response);
    }
  } catch (error) {
    if (error instanceof CapsuleError) throw error;
    if (signal.aborted) throw unreachable(`gave no answer within ${timeoutMs / 1000} s`);
    throw unreachable(`cannot be reached (${causeOf(error)})`);
  }
}
