import { describeStoredSecret, revealStoredSecret, type CryptoSupport, type StoredSecretDescription } from '../../crypto/index.js';
import type { OidcSettings } from './oidc-config.js';

export function reenterCommand(name: string): string {
  return `capsule oidc add ${name} --update --client-secret-stdin`;
}

/** The client secret in clear; a secret that does not decrypt says which keys differ and how to fix it. */
export function revealOidcSecret(settings: OidcSettings, crypto: CryptoSupport): string {
  return revealStoredSecret(settings.storedSecret, crypto, { what: `client.secret of OpenID provider ${settings.name}`, reenter: reenterCommand(settings.name) });
}

/** Whether a secret is set and under which key, without decrypting it. */
export function describeOidcSecret(settings: OidcSettings, crypto: CryptoSupport): StoredSecretDescription {
  return describeStoredSecret(settings.storedSecret, crypto);
}
