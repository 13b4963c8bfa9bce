import type { CryptoSupport } from '../../crypto/index.js';
import { openState, sealState } from '../signed-state.js';

/**
 * What the browser carries between the redirect to the provider and the callback: the PKCE
 * verifier, `state`, `nonce`, where to go afterwards, sealed as auth/signed-state.ts says (the
 * callback may land on any instance with the same keys).
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
/** The key derivation's purpose (auth/signed-state.ts); changing it ends every sign-in under way. */
const PURPOSE = 'capsule oidc login state v1';

export function sealLoginState(state: LoginState, crypto: CryptoSupport): string {
  return sealState(state, PURPOSE, crypto);
}

/** The state, or null when the cookie is missing, forged, signed by an unknown key, malformed or expired. */
export function openLoginState(cookie: string | undefined, crypto: CryptoSupport, nowMs: number): LoginState | null {
  const state = openState(cookie, PURPOSE, crypto) as Partial<LoginState> | null;
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
