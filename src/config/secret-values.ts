import { describeStoredSecret, revealStoredSecret, type CryptoSupport, type StoredSecretDescription, type StoredSecretLabel } from '../crypto/index.js';
import { referencesIn, referenceSource, resolveText } from './references.js';

/**
 * The value of a secret property in clear, as the component that uses it needs it: a reference
 * (`$[env:NAME]`, `$[secret:NAME]`) is resolved now, in this process's environment, and what it
 * gives (or a value stored as is) is decrypted when protected. A reference that does not resolve
 * fails here, naming the reference and never a value, so only the component that uses this
 * secret fails (its health check says why), not every reader of the configuration.
 */
export function revealSecret(stored: string | null, crypto: CryptoSupport, label: StoredSecretLabel, env: NodeJS.ProcessEnv = process.env): string {
  return revealStoredSecret(stored === null ? null : resolveText(label.what, stored, env), crypto, label);
}

export interface SecretDescription extends StoredSecretDescription {
  /** Where a referenced secret comes from (`environment variable NAME`); absent for a stored one. */
  readonly reference?: string;
}

/** For listings: whether a secret is set, and under which key or from which reference, without revealing it. */
export function describeSecret(stored: string | null, crypto: CryptoSupport): SecretDescription {
  const references = stored === null ? [] : referencesIn(stored);
  if (references.length > 0) return { set: true, keyId: null, keyPresent: null, reference: references.map(referenceSource).join(', ') };
  return describeStoredSecret(stored, crypto);
}
