import { describeSecret, revealSecret, type SecretDescription } from '../../config/index.js';
import type { CryptoSupport } from '../../crypto/index.js';
import type { OidcSettings } from './oidc-config.js';

export function reenterCommand(name: string): string {
  return `capsule oidc add ${name} --update --client-secret-stdin`;
}

/** The client secret in clear (a reference resolved); a secret that does not decrypt says which keys differ and how to fix it. */
export function revealOidcSecret(settings: OidcSettings, crypto: CryptoSupport): string {
  return revealSecret(settings.storedSecret, crypto, { what: `client.secret of OpenID provider ${settings.name}`, reenter: reenterCommand(settings.name) });
}

/** Whether a secret is set, and under which key or from which reference, without revealing it. */
export function describeOidcSecret(settings: OidcSettings, crypto: CryptoSupport): SecretDescription {
  return describeSecret(settings.storedSecret, crypto);
}
