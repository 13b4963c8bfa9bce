import { describeStoredSecret, revealStoredSecret, type CryptoSupport, type StoredSecretDescription, type StoredSecretLabel } from '../crypto/index.js';
import { CapsuleError } from '../errors.js';
import { isPartialReference, referenceSource, resolveReference, wholeReference } from './references.js';

/**
 * The value of a secret property in clear, as the component that uses it needs it: a reference
 * (`$[env:NAME]`, `$[secret:NAME]`, the whole value) is resolved now, in this process's
 * environment, and what it gives (or a value stored as is) is decrypted when protected. A
 * reference that does not resolve, or may not be resolved, fails here, naming the reference and
 * never a value, so only the component that uses this secret fails (its health check says why).
 */
export function revealSecret(stored: string | null, crypto: CryptoSupport, label: StoredSecretLabel, env: NodeJS.ProcessEnv = process.env): string {
  if (stored === null) return revealStoredSecret(null, crypto, label);
  const reference = wholeReference(stored);
  if (reference !== null) return revealStoredSecret(resolveReference(label.what, reference, env), crypto, label);
  if (isPartialReference(stored)) {
    // Stored by a version that resolved references inside text: used neither literally nor resolved.
    throw new CapsuleError('INVALID_CONFIG', `${label.what} mixes a reference with other text, which is not resolved: store the secret itself or only a reference (${label.reenter})`);
  }
  return revealStoredSecret(stored, crypto, label);
}

export interface SecretDescription extends StoredSecretDescription {
  /** Where a referenced secret comes from (`environment variable NAME`); absent for a stored one. */
  readonly reference?: string;
}

/** For listings: whether a secret is set, and under which key or from which reference, without revealing it. */
export function describeSecret(stored: string | null, crypto: CryptoSupport): SecretDescription {
  const reference = stored === null ? null : wholeReference(stored);
  if (reference !== null) return { set: true, keyId: null, keyPresent: null, reference: referenceSource(reference) };
  return describeStoredSecret(stored, crypto);
}
