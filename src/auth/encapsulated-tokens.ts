import { createHmac, randomBytes, type KeyObject } from 'node:crypto';
import type { ProvisioningClaim } from './types.js';

/**
 * Encapsulated tokens: JWS compact serialisation, HS256, `kid` = HMAC key id. Any JOSE library
 * verifies them with the exported key; this hand-written path exists because verification runs
 * on every request and measured several times faster than a general JOSE library (BENCHMARKS.md).
 * It fails closed: exactly HS256, a known kid, well-formed claims, unexpired.
 */
export interface EncapsulatedClaims {
  readonly sub: string;
  /** Seconds since the epoch, as JWT NumericDate. */
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  /** The user's token generation when the token was issued. */
  readonly gen: number;
  /** Not before (seconds since the epoch); Capsule does not issue it, other signers may. */
  readonly nbf?: number;
  /** The session the token belongs to (sessions/); absent on tokens issued before sessions existed. */
  readonly sid?: string;
  /** After an OpenID Connect sign-in: what an instance without the user needs to create it. */
  readonly prv?: ProvisioningClaim;
}

/**
 * Every claim a token may carry. A token with any other claim is refused: only a signer holding
 * the farm's key could add one, and a claim this verifier does not understand must not be ignored.
 */
export const ALLOWED_CLAIMS: ReadonlySet<string> = new Set(['sub', 'iat', 'exp', 'jti', 'gen', 'nbf', 'sid', 'prv']);

export type EncapsulatedVerification =
  | { readonly ok: true; readonly claims: EncapsulatedClaims; readonly kid: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Whether a refusal means the value is no token at all (junk in the cookie), as opposed to a
 * token that failed a check (bad signature, unknown key, expired, …). The handler counts both but
 * audits only the latter, so junk cannot flood the audit trail. A JOSE header of another
 * algorithm (`alg: none`, RS256 for key confusion) and a known key's token with its signature cut
 * are attempts, not noise: audited. Called on refusals only, never on the path of a valid token.
 */
export function isNotAToken(token: string, reason: string): boolean {
  if (reason === 'token too long' || reason === 'not a JWS compact token') return true;
  if (reason !== 'header is not HS256 with a kid') return false;
  const header = decodeJson(token.slice(0, token.indexOf('.')));
  return !header || typeof header !== 'object' || typeof (header as { alg?: unknown }).alg !== 'string';
}

/** Past this length a cookie is refused before any work: real tokens are about 250 characters. */
export const MAX_TOKEN_LENGTH = 2048;
/** Tolerated clock skew between farm members on `iat` and `nbf`. */
export const CLOCK_SKEW_SECONDS = 60;

/** base64url of a 32-byte HMAC-SHA256. */
const SIGNATURE_CHARS = 43;

/**
 * Compares two strings of equal length in time that does not depend on where they differ.
 * Comparing the base64url digest as text saves decoding the signature on every request.
 */
function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

export interface SigningKey {
  readonly kid: string;
  readonly key: KeyObject | Buffer;
}

function encodeJson(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function issueEncapsulatedToken(claims: Omit<EncapsulatedClaims, 'jti'> & { jti?: string }, signing: SigningKey): string {
  const header = encodeJson({ alg: 'HS256', typ: 'JWT', kid: signing.kid });
  const payload = encodeJson({
    sub: claims.sub,
    iat: claims.iat,
    exp: claims.exp,
    jti: claims.jti ?? randomBytes(12).toString('base64url'),
    gen: claims.gen,
    ...(claims.sid !== undefined ? { sid: claims.sid } : {}),
    ...(claims.prv ? { prv: { p: claims.prv.p, s: claims.prv.s, g: claims.prv.g, at: claims.prv.at } } : {}),
  });
  const input = `${header}.${payload}`;
  return `${input}.${createHmac('sha256', signing.key).update(input).digest('base64url')}`;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** A session id as sessions/ makes it: 16 random bytes, base64url. */
export const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Reads a header once: there are only a few distinct ones (one per key), so results are cached. */
function kidOfHeader(part: string): string | null {
  if (!BASE64URL.test(part)) return null;
  const header = decodeJson(part) as Record<string, unknown> | undefined;
  if (!header || typeof header !== 'object') return null;
  if (header.alg !== 'HS256' || typeof header.kid !== 'string') return null;
  if (header.crit !== undefined || (header.typ !== undefined && header.typ !== 'JWT')) return null;
  return header.kid;
}

const PROVISIONING_FIELDS: ReadonlySet<string> = new Set(['p', 's', 'g', 'at']);

/** Exactly p, s, g, at, each of its type and bounded: a claim that creates users fails closed too. */
function validProvisioning(value: unknown): value is ProvisioningClaim {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const claim = value as Record<string, unknown>;
  for (const name in claim) if (!PROVISIONING_FIELDS.has(name)) return false;
  return (
    typeof claim.p === 'string' &&
    claim.p.length > 0 &&
    claim.p.length <= 32 &&
    typeof claim.s === 'string' &&
    claim.s.length > 0 &&
    claim.s.length <= 255 &&
    Array.isArray(claim.g) &&
    claim.g.length <= 20 &&
    claim.g.every((group: unknown) => typeof group === 'string' && group.length > 0 && group.length <= 128) &&
    Number.isSafeInteger(claim.at) &&
    (claim.at as number) >= 0
  );
}

function validClaims(value: unknown): value is EncapsulatedClaims {
  if (!value || typeof value !== 'object') return false;
  const claims = value as Record<string, unknown>;
  for (const name in claims) if (!ALLOWED_CLAIMS.has(name)) return false;
  return (
    typeof claims.sub === 'string' &&
    claims.sub.length > 0 &&
    Number.isSafeInteger(claims.iat) &&
    Number.isSafeInteger(claims.exp) &&
    typeof claims.jti === 'string' &&
    Number.isSafeInteger(claims.gen) &&
    (claims.gen as number) >= 0 &&
    (claims.nbf === undefined || Number.isSafeInteger(claims.nbf)) &&
    (claims.sid === undefined || (typeof claims.sid === 'string' && SESSION_ID.test(claims.sid))) &&
    (claims.prv === undefined || validProvisioning(claims.prv))
  );
}

export interface EncapsulatedVerifier {
  verify(token: string, nowMs: number): EncapsulatedVerification;
  /** Forget cached headers (after the keys changed). */
  reset(): void;
}

/** `keyFor(kid)`: the key that may verify tokens with this id (current, staged or retired), or undefined. */
export function createEncapsulatedVerifier(keyFor: (kid: string) => KeyObject | Buffer | undefined): EncapsulatedVerifier {
  const headers = new Map<string, string | null>();
  return {
    verify(token, nowMs) {
      if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'token too long' };
      const firstDot = token.indexOf('.');
      const lastDot = token.lastIndexOf('.');
      if (firstDot <= 0 || lastDot === firstDot || token.indexOf('.', firstDot + 1) !== lastDot) {
        return { ok: false, reason: 'not a JWS compact token' };
      }
      const headerPart = token.slice(0, firstDot);
      let kid = headers.get(headerPart);
      if (kid === undefined) {
        kid = kidOfHeader(headerPart);
        if (headers.size < 64) headers.set(headerPart, kid);
      }
      if (kid === null) return { ok: false, reason: 'header is not HS256 with a kid' };
      const key = keyFor(kid);
      if (!key) return { ok: false, reason: `unknown key id ${kid.slice(0, 32)}` };
      if (token.length - lastDot - 1 !== SIGNATURE_CHARS) return { ok: false, reason: 'malformed signature' };
      const expected = createHmac('sha256', key).update(token.slice(0, lastDot)).digest('base64url');
      if (!constantTimeEqual(expected, token.slice(lastDot + 1))) return { ok: false, reason: 'bad signature' };
      // Only bytes we (or a farm member with the same key) signed get this far.
      const claims = decodeJson(token.slice(firstDot + 1, lastDot));
      if (!validClaims(claims)) return { ok: false, reason: 'malformed claims' };
      const now = nowMs / 1000;
      if (claims.exp <= now) return { ok: false, reason: 'expired' };
      if (claims.iat > now + CLOCK_SKEW_SECONDS) return { ok: false, reason: 'issued in the future' };
      if (claims.nbf !== undefined && claims.nbf > now + CLOCK_SKEW_SECONDS) return { ok: false, reason: 'not yet valid' };
      return { ok: true, claims, kid };
    },
    reset() {
      headers.clear();
    },
  };
}
