import type { CryptoSupport } from '../../crypto/index.js';
import { openState, sealState } from '../signed-state.js';
import type { SamlRequestState } from './acs.js';

/**
 * What the browser carries between the AuthnRequest and the IdP's POST to the ACS: the provider,
 * the request's ID and instant (the only request whose answer this browser may bring back:
 * that binds InResponseTo to the browser, on whatever instance the IdP posts to), and where to
 * go afterwards. Sealed as auth/signed-state.ts says. The resource comes from here, never from
 * RelayState, which nothing signs.
 */
export interface SamlLoginState {
  /** Provider name. */
  readonly provider: string;
  readonly request: SamlRequestState;
  /** Where to go after the login (a same-site path), or null. */
  readonly resource: string | null;
}

/**
 * `__Host-`: the browser takes it only Secure, with Path=/ and no Domain, so a sibling subdomain
 * (which can set a cookie for the parent domain) cannot plant one of this name, and none with a
 * more specific Path can come first.
 */
export const SAML_STATE_COOKIE = '__Host-capsule-saml-state';
/** As OpenID's: long enough to type a password and answer a second factor; also the longest a request waits for its response. */
export const SAML_STATE_LIFETIME_S = 600;
/** The key derivation's purpose (auth/signed-state.ts); changing it ends every sign-in under way. */
const PURPOSE = 'capsule saml login state v1';

interface Sealed {
  readonly p: string;
  readonly id: string;
  /** Request instant, ms since the epoch. */
  readonly iat: number;
  readonly r: string | null;
}

export function sealSamlLoginState(state: SamlLoginState, crypto: CryptoSupport): string {
  const sealed: Sealed = { p: state.provider, id: state.request.id, iat: state.request.issuedAt.getTime(), r: state.resource };
  return sealState(sealed, PURPOSE, crypto);
}

/** The state, or null when the cookie is missing, forged, signed by an unknown key, malformed, or older than its lifetime. */
export function openSamlLoginState(cookie: string | undefined, crypto: CryptoSupport, nowMs: number): SamlLoginState | null {
  const sealed = openState(cookie, PURPOSE, crypto) as Partial<Sealed> | null;
  if (
    !sealed ||
    typeof sealed.p !== 'string' ||
    typeof sealed.id !== 'string' ||
    typeof sealed.iat !== 'number' ||
    !Number.isFinite(sealed.iat) ||
    (sealed.r !== null && typeof sealed.r !== 'string')
  ) {
    return null;
  }
  if (sealed.iat + SAML_STATE_LIFETIME_S * 1000 <= nowMs) return null;
  return { provider: sealed.p, request: { id: sealed.id, issuedAt: new Date(sealed.iat) }, resource: sealed.r };
}
