import { describeSecret, revealSecret, type SecretDescription } from '../config/index.js';
import type { CryptoSupport } from '../crypto/index.js';
import type { OAuthClientSettings } from './oauth-config.js';

/** What an operator runs to type the secret in again. */
export function reenterCommand(name: string): string {
  return `capsule oauth add ${name} --update --client-secret-stdin`;
}

/** The client secret in clear (a reference resolved); one that does not decrypt says which keys differ and how to fix it. */
export function revealClientSecret(settings: OAuthClientSettings, crypto: CryptoSupport): string {
  return revealSecret(settings.storedSecret, crypto, { what: `client.secret of ${settings.name}`, reenter: reenterCommand(settings.name) });
}

export type { SecretDescription };

/** For listings: whether a secret is set, and under which key or from which reference, without revealing it. */
export function describeClientSecret(settings: OAuthClientSettings, crypto: CryptoSupport): SecretDescription {
  return describeSecret(settings.storedSecret, crypto);
}
