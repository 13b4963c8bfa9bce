import type { CryptoSupport } from '../../crypto/index.js';
import { openState, sealState } from '../signed-state.js';

/**
 * What the browser carries through an SP-initiated single logout: set when Capsule's logout
 * ends the token (the token is gone then, so the NameID must travel here), read when the
 * browser is sent to the IdP with the LogoutRequest, and when the IdP's LogoutResponse comes
 * back, which must answer exactly this request ID (InResponseTo bound to the browser, as the
 * login binds its response). Sealed as auth/signed-state.ts says; a forged or stale one starts
 * nothing and accepts no response.
 */
export interface SamlLogoutState {
  readonly provider: string;
  /** The LogoutRequest's ID, chosen when the logout begins. */
  readonly requestId: string;
  readonly nameId: string;
  readonly nameIdFormat: string;
  /** When the logout began, ms since the epoch. */
  readonly beganAt: number;
  /** Whether the browser was already sent to the IdP with the LogoutRequest: it is sent once, then the state only takes the response. */
  readonly sent: boolean;
}

/** `__Host-` as the login state cookie (login-state.ts): no sibling subdomain can plant one. */
export const SAML_LOGOUT_COOKIE = '__Host-capsule-saml-logout';
/** Time to pass through the IdP's logout (it may log out other sites first). */
export const SAML_LOGOUT_LIFETIME_S = 600;
/** The key derivation's purpose: a login state never passes for a logout state. */
const PURPOSE = 'capsule saml logout state v1';

interface Sealed {
  readonly p: string;
  readonly id: string;
  readonly n: string;
  readonly f: string;
  readonly at: number;
  readonly s?: boolean;
}

export function sealSamlLogoutState(state: SamlLogoutState, crypto: CryptoSupport): string {
  const sealed: Sealed = { p: state.provider, id: state.requestId, n: state.nameId, f: state.nameIdFormat, at: state.beganAt, ...(state.sent ? { s: true } : {}) };
  return sealState(sealed, PURPOSE, crypto);
}

/** The state, or null when the cookie is missing, forged, malformed or older than its lifetime. */
export function openSamlLogoutState(cookie: string | undefined, crypto: CryptoSupport, nowMs: number): SamlLogoutState | null {
  const sealed = openState(cookie, PURPOSE, crypto) as Partial<Sealed> | null;
  if (!sealed || typeof sealed.p !== 'string' || typeof sealed.id !== 'string' || typeof sealed.n !== 'string' || typeof sealed.f !== 'string' || typeof sealed.at !== 'number') return null;
  if (!Number.isFinite(sealed.at) || sealed.at + SAML_LOGOUT_LIFETIME_S * 1000 <= nowMs) return null;
  return { provider: sealed.p, requestId: sealed.id, nameId: sealed.n, nameIdFormat: sealed.f, beganAt: sealed.at, sent: sealed.s === true };
}
