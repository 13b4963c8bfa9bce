import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TokenHandler } from '../auth/index.js';
import type { CryptoSupport } from '../crypto/index.js';

/** The name of the hidden field every console form carries. */
export const CSRF_FIELD = 'csrf';

// Domain separation: a CSRF token must never double as any other HMAC the instance makes.
const PURPOSE = 'capsule.console.csrf\n';
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * The login token the browser holds once this response arrives: a renewed one when the token
 * handler just sent a fresh cookie (encapsulated tokens are re-issued past half-life),
 * otherwise the one this request came with.
 */
export function effectiveLoginToken(request: FastifyRequest, reply: FastifyReply, tokens: TokenHandler): string | null {
  const prefix = `${tokens.settings().cookieName}=`;
  const header = reply.getHeader('set-cookie');
  const cookies = Array.isArray(header) ? header : typeof header === 'string' ? [header] : [];
  for (const cookie of cookies) {
    if (cookie.startsWith(prefix)) {
      const value = cookie.slice(prefix.length).split(';')[0];
      if (value) return decodeURIComponent(value);
    }
  }
  return tokens.tokenOf(request);
}

/**
 * HMAC of the login token with the instance's HMAC key: bound to one login, needs no storage,
 * and every farm member that shares the key accepts it (as it accepts the login token itself).
 */
export function csrfTokenFor(crypto: CryptoSupport, loginToken: string): string {
  return crypto.sign(PURPOSE + loginToken).toString('base64url');
}

/** Constant time (crypto.verify); also accepts a token made with a retired HMAC key. */
export function isValidCsrfToken(crypto: CryptoSupport, loginToken: string | null, submitted: unknown): boolean {
  if (!loginToken || typeof submitted !== 'string' || !TOKEN_PATTERN.test(submitted)) return false;
  return crypto.verify(PURPOSE + loginToken, Buffer.from(submitted, 'base64url'));
}
