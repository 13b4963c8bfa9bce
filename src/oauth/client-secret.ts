import { describeStoredSecret, revealStoredSecret, type CryptoSupport, type StoredSecretDescription } from '../crypto/index.js';
import type { OAuthClientSettings } from './oauth-config.js';

/** What an operator runs to type the secret in again. */
export function reenterCommand(name: string): string {
  return `capsule oauth add ${name} --update --client-secret-stdin`;
}

/** The client secret in clear; one that does not decrypt says which keys differ and how to fix it. */
export function revealClientSecret(settings: OAuthClientSettings, crypto: CryptoSupport): string {
  return revealStoredSecret(settings.storedSecret, crypto, { what: `client.secret of ${settings.name}`, reenter: reenterCommand(settings.name) });
}

export type SecretDescription = StoredSecretDescription;

/** For listings: whether a secret is set and under which key, without decrypting it. */
export function describeClientSecret(settings: OAuthClientSettings, crypto: CryptoSupport): SecretDescription {
  return describeStoredSecret(settings.storedSecret, crypto);
}
