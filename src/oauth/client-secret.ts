import type { CryptoSupport } from '../crypto/index.js';
import { keyIdOfProtected } from '../crypto/index.js';
import { CapsuleError, isCapsuleError } from '../errors.js';
import type { OAuthClientSettings } from './oauth-config.js';

/** What an operator runs to type the secret in again. */
export function reenterCommand(name: string): string {
  return `capsule oauth add ${name} --update --client-secret-stdin`;
}

function masterKeyIdOf(crypto: CryptoSupport): string | null {
  try {
    return crypto.keyIds().master;
  } catch {
    return null; // the keys did not load; unprotect says why
  }
}

/**
 * The client secret in clear. A secret that does not decrypt is reported as what it is (the
 * key it was encrypted with, the key this instance has, the fix), never as a failed grant.
 */
export function revealClientSecret(settings: OAuthClientSettings, crypto: CryptoSupport): string {
  const { name, storedSecret } = settings;
  if (storedSecret === null) {
    throw new CapsuleError('INVALID_CONFIG', `client.secret of ${name} is not set; enter it (${reenterCommand(name)})`);
  }
  // Written by hand into the repository: usable, and protected again on the next write.
  if (!crypto.isProtected(storedSecret)) return storedSecret;
  try {
    return crypto.unprotect(storedSecret);
  } catch (error) {
    if (isCapsuleError(error, 'KEY_MISMATCH')) {
      throw new CapsuleError(
        'KEY_MISMATCH',
        `client.secret of ${name} was encrypted with master key ${keyIdOfProtected(storedSecret)}; this instance's master key is ${masterKeyIdOf(crypto) ?? 'not loaded'}; restore the key (capsule keys import) or enter the secret again (${reenterCommand(name)})`,
        { cause: error },
      );
    }
    if (isCapsuleError(error, 'PROTECTED_VALUE_INVALID')) {
      throw new CapsuleError(
        'PROTECTED_VALUE_INVALID',
        `client.secret of ${name} does not decrypt: ${error.message}; enter the secret again (${reenterCommand(name)})`,
        { cause: error },
      );
    }
    if (isCapsuleError(error)) {
      throw new CapsuleError(error.code, `client.secret of ${name} cannot be decrypted: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

export interface SecretDescription {
  readonly set: boolean;
  /** The master key id it was encrypted with; null when not set or stored in clear. */
  readonly keyId: string | null;
  /** Whether this instance holds that key (null when its keys could not be loaded). */
  readonly keyPresent: boolean | null;
}

/** For listings: whether a secret is set and under which key, without decrypting it. */
export function describeClientSecret(settings: OAuthClientSettings, crypto: CryptoSupport): SecretDescription {
  if (settings.storedSecret === null) return { set: false, keyId: null, keyPresent: null };
  const keyId = keyIdOfProtected(settings.storedSecret);
  if (keyId === null) return { set: true, keyId: null, keyPresent: null };
  try {
    const ids = crypto.keyIds();
    return { set: true, keyId, keyPresent: keyId === ids.master || keyId === ids.stagedMaster };
  } catch {
    return { set: true, keyId, keyPresent: null };
  }
}
