import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { CryptoSupport } from '../../crypto/index.js';

/**
 * What the browser carries between the redirect to the provider and the callback: the PKCE
 * verifier, `state`, `nonce`, where to go afterwards. It is signed with a key derived from the
 * farm's HMAC key, so the callback may land on any instance with the same keys (no sticky
 * sessions), and a login token can never pass for a login state or the other way round.
 */
export interface LoginState {
  /** Provider name. */
  readonly p: string;
  readonly state: string;
  readonly nonce: string;
  /** PKCE code verifier. */
  readonly v: string;
  /** The redirect URI the flow was started with. */
  readonly u: string;
  /** Where to go after the login (a same-site path), or null. */
  readonly r: string | null;
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
}

export const LOGIN_STATE_COOKIE = 'capsule-oidc-state';
/** Long enough to type a password and answer a second factor; short enough that a stolen cookie is stale. */
export const LOGIN_STATE_LIFETIME_S = 600;
const INFO = 'capsule oidc login state v1';

function derivedKey(hmacKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', hmacKey, Buffer.alloc(0), INFO, 32));
}

function mac(key: Buffer, input: string): Buffer {
  return createHmac('sha256', derivedKey(key)).update(input).digest();
}

export function sealLoginState(state: LoginState, crypto: CryptoSupport): string {
  const signing = crypto.signingKey();
  const input = `${signing.kid}.${Buffer.from(JSON.stringify(state)).toString('base64url')}`;
  return `${input}.${mac(signing.key, input).toString('base64url')}`;
}

/** The state, or null when the cookie is missing, forged, signed by an unknown key, malformed or expired. */
export function openLoginState(cookie: string | undefined, crypto: CryptoSupport, nowMs: number): LoginState | null {
  if (!cookie || cookie.length > 4096) return null;
  const parts = cookie.split('.');
  if (parts.length !== 3) return null;
  const [kid, payload, signature] = parts as [string, string, string];
  const key = crypto.verificationKey(kid);
  if (!key) return null;
  const expected = mac(key, `${kid}.${payload}`);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const state = value as Partial<LoginState> | null;
  if (
    !state ||
    typeof state.p !== 'string' ||
    typeof state.state !== 'string' ||
    typeof state.nonce !== 'string' ||
    typeof state.v !== 'string' ||
    typeof state.u !== 'string' ||
    (state.r !== null && typeof state.r !== 'string') ||
    typeof state.exp !== 'number'
  ) {
    return null;
  }
  if (state.exp * 1000 <= nowMs) return null;
  return state as LoginState;
}
