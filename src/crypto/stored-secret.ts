import { CapsuleError, isCapsuleError } from '../errors.js';
import type { CryptoSupport } from './crypto-support.js';
import { keyIdOfProtected } from './protected-value.js';

/** Where a stored secret is and how an operator types it in again, for messages. */
export interface StoredSecretLabel {
  /** e.g. `client.secret of OpenID provider corp` */
  readonly what: string;
  /** e.g. `capsule oidc add corp --update --client-secret-stdin` */
  readonly reenter: string;
}

function masterKeyIdOf(crypto: CryptoSupport): string | null {
  try {
    return crypto.keyIds().master;
  } catch {
    return null; // the keys did not load; unprotect says why
  }
}

/**
 * A secret of a configuration in clear. One that does not decrypt is reported as what it is
 * (the key it was encrypted with, the key this instance has, the fix), never as a failure of
 * whatever would have used it.
 */
export function revealStoredSecret(stored: string | null, crypto: CryptoSupport, label: StoredSecretLabel): string {
  if (stored === null) throw new CapsuleError('INVALID_CONFIG', `${label.what} is not set; enter it (${label.reenter})`);
  // Written by hand into the repository: usable, and protected again on the next write.
  if (!crypto.isProtected(stored)) return stored;
  try {
    return crypto.unprotect(stored);
  } catch (error) {
    if (isCapsuleError(error, 'KEY_MISMATCH')) {
      throw new CapsuleError(
        'KEY_MISMATCH',
        `${label.what} was encrypted with master key ${keyIdOfProtected(stored)}; this instance's master key is ${masterKeyIdOf(crypto) ?? 'not loaded'}; restore the key (capsule keys import) or enter the secret again (${label.reenter})`,
        { cause: error },
      );
    }
    if (isCapsuleError(error, 'PROTECTED_VALUE_INVALID')) {
      throw new CapsuleError('PROTECTED_VALUE_INVALID', `${label.what} does not decrypt: ${error.message}; enter the secret again (${label.reenter})`, { cause: error });
    }
    if (isCapsuleError(error)) throw new CapsuleError(error.code, `${label.what} cannot be decrypted: ${error.message}`, { cause: error });
    throw error;
  }
}

export interface StoredSecretDescription {
  readonly set: boolean;
  /** The master key id it was encrypted with; null when not set or stored in clear. */
  readonly keyId: string | null;
  /** Whether this instance holds that key (null when its keys could not be loaded). */
  readonly keyPresent: boolean | null;
}

/** For listings: whether a secret is set and under which key, without decrypting it. */
export function describeStoredSecret(stored: string | null, crypto: CryptoSupport): StoredSecretDescription {
  if (stored === null) return { set: false, keyId: null, keyPresent: null };
  const keyId = keyIdOfProtected(stored);
  if (keyId === null) return { set: true, keyId: null, keyPresent: null };
  try {
    const ids = crypto.keyIds();
    return { set: true, keyId, keyPresent: keyId === ids.master || keyId === ids.stagedMaster || ids.retiredMaster.includes(keyId) };
  } catch {
    return { set: true, keyId, keyPresent: null };
  }
}
