import { describeSecret, revealSecret, type SecretDescription } from '../../config/index.js';
import type { CryptoSupport } from '../../crypto/index.js';
import type { SamlSettings } from './saml-config.js';

export function reenterSpKeyCommand(name: string): string {
  return `capsule saml add ${name} --update --sp-key-file <key.pem>`;
}

/** The SP private key in clear (PEM); a key that does not decrypt says which keys differ and how to fix it. */
export function revealSpPrivateKey(settings: SamlSettings, crypto: CryptoSupport): string {
  return revealSecret(settings.storedSpPrivateKey, crypto, { what: `spPrivateKey of SAML identity provider ${settings.name}`, reenter: reenterSpKeyCommand(settings.name) });
}

/** Whether the SP key is set, and under which key or from which reference, without revealing it. */
export function describeSpPrivateKey(settings: SamlSettings, crypto: CryptoSupport): SecretDescription {
  return describeSecret(settings.storedSpPrivateKey, crypto);
}
