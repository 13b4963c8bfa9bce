import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { displayEndpoint, type AuthMethod } from './oauth-config.js';
import { OAuthTokenError } from './token-error.js';
import { basicCredential, secretRedactor } from '../support/client-credentials.js';

export interface TokenRequest {
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authMethod: AuthMethod;
  readonly scope: string | null;
  readonly audience: string | null;
}

export interface TokenRequestOptions {
  readonly fetch: typeof globalThis.fetch;
  /** Per attempt. */
  readonly timeoutMs: number;
  /** Attempts in all; only network errors and timeouts are retried. */
  readonly attempts: number;
  /** The wait before the second attempt; doubled for each one after. */
  readonly backoffMs: number;
}

// Three attempts of 4 s with 250 + 500 ms between them stay inside the health registry's 15 s.
export const DEFAULT_TOKEN_REQUEST_OPTIONS: TokenRequestOptions = {
  fetch: (input, init) => globalThis.fetch(input, init),
  timeoutMs: 4_000,
  attempts: 3,
  backoffMs: 250,
};

export interface TokenResponse {
  readonly accessToken: string;
  readonly tokenType: string;
  /** Seconds, or null when the provider did not say. */
  readonly expiresIn: number | null;
  readonly scope: string | null;
}

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().min(1).optional(),
  // Some providers send it as a string ("3599").
  expires_in: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).optional(),
  scope: z.string().optional(),
});

const errorResponseSchema = z.object({
  error: z.string(),
  error_description: z.string().optional(),
});

function requestInit(request: TokenRequest, timeoutMs: number): RequestInit {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (request.scope) form.set('scope', request.scope);
  if (request.audience) form.set('audience', request.audience);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (request.authMethod === 'client_secret_post') {
    form.set('client_id', request.clientId);
    form.set('client_secret', request.clientSecret);
  } else {
    headers.authorization = `Basic ${basicCredential(request.clientId, request.clientSecret)}`;
  }
  // A redirect would carry the credentials to wherever it points; the endpoint must be the real one.
  return { method: 'POST', headers, body: form.toString(), redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) };
}

function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.message === 'string' && cause.message !== '') return cause.message;
  if (cause && typeof cause.code === 'string') return cause.code;
  return error instanceof Error ? error.message : String(error);
}

type Attempt = { kind: 'answered'; response: Response; body: string } | { kind: 'network'; reason: string; error: unknown };

async function attempt(request: TokenRequest, options: TokenRequestOptions): Promise<Attempt> {
  try {
    const response = await options.fetch(request.tokenEndpoint, requestInit(request, options.timeoutMs));
    return { kind: 'answered', response, body: await response.text() };
  } catch (error) {
    return { kind: 'network', reason: networkReason(error, options.timeoutMs), error };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function interpret(request: TokenRequest, response: Response, body: string, attempts: number): TokenResponse {
  const endpoint = displayEndpoint(request.tokenEndpoint);
  const status = response.status;
  const json = parseJson(body);
  if (status >= 200 && status < 300) {
    const parsed = tokenResponseSchema.safeParse(json);
    if (!parsed.success) {
      throw new OAuthTokenError(
        'OAUTH_BAD_RESPONSE',
        `token endpoint ${endpoint} answered HTTP ${status} without an access token (expected JSON with access_token)`,
        { httpStatus: status, error: null, errorDescription: null, attempts },
      );
    }
    return {
      accessToken: parsed.data.access_token,
      tokenType: parsed.data.token_type ?? 'Bearer',
      expiresIn: parsed.data.expires_in ?? null,
      scope: parsed.data.scope ?? null,
    };
  }
  const oauthError = errorResponseSchema.safeParse(json);
  if (oauthError.success) {
    const redact = secretRedactor(request.clientId, request.clientSecret);
    const error = redact(oauthError.data.error);
    const description = oauthError.data.error_description === undefined ? null : redact(oauthError.data.error_description);
    const verbatim = JSON.stringify(description === null ? { error } : { error, error_description: description });
    throw new OAuthTokenError('OAUTH_REJECTED', `token endpoint ${endpoint} answered HTTP ${status}: ${verbatim}`, {
      httpStatus: status,
      error,
      errorDescription: description,
      attempts,
    });
  }
  const type = response.headers.get('content-type')?.split(';')[0] ?? 'no content type';
  const hint = status >= 300 && status < 400 ? `a redirect to ${displayEndpoint(response.headers.get('location') ?? '')}; set token.endpoint to the final URL` : type;
  throw new OAuthTokenError('OAUTH_BAD_RESPONSE', `token endpoint ${endpoint} answered HTTP ${status} without an OAuth error (${hint})`, {
    httpStatus: status,
    error: null,
    errorDescription: null,
    attempts,
  });
}

/**
 * The client-credentials grant (RFC 6749 4.4). Retries with backoff only when no HTTP answer
 * came (connection refused, reset, DNS, timeout): an answer, even a 5xx, is the provider's word.
 */
export async function requestClientCredentials(request: TokenRequest, options: TokenRequestOptions = DEFAULT_TOKEN_REQUEST_OPTIONS): Promise<TokenResponse> {
  const attempts = Math.max(1, options.attempts);
  let last: Extract<Attempt, { kind: 'network' }> | undefined;
  for (let number = 1; number <= attempts; number++) {
    if (number > 1) await sleep(options.backoffMs * 2 ** (number - 2));
    const result = await attempt(request, options);
    if (result.kind === 'answered') return interpret(request, result.response, result.body, number);
    last = result;
  }
  throw new OAuthTokenError(
    'OAUTH_UNREACHABLE',
    `cannot reach token endpoint ${displayEndpoint(request.tokenEndpoint)} (${attempts} attempt${attempts === 1 ? '' : 's'}): ${secretRedactor(request.clientId, request.clientSecret)(last?.reason ?? 'unknown error')}`,
    { httpStatus: null, error: null, errorDescription: null, attempts },
    { cause: last?.error },
  );
}
