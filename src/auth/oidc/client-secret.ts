import type { CryptoSupport } from '../../crypto/index.js';
import { keyIdOfProtected } from '../../crypto/index.js';
import { CapsuleError, isCapsuleError } from '../../errors.js';
import type { OidcSettings } from './oidc-config.js';

export function reenterCommand(name: string): string {
  return `capsule oidc add ${name} --update --client-secret-stdin`;
}

/** The client secret in clear; a secret that does not decrypt says which keys differ and how to fix it. */
export function revealOidcSecret(settings: OidcSettings, crypto: CryptoSupport): string {
  const { name, storedSecret } = settings;
  if (storedSecret === null) throw new CapsuleError('INVALID_CONFIG', `client.secret of OpenID provider ${name} is not set; enter it (${reenterCommand(name)})`);
  if (!crypto.isProtected(storedSecret)) return storedSecret;
  try {
    return crypto.unprotect(storedSecret);
  } catch (error) {
    if (!isCapsuleError(error)) throw error;
    let master: string | null = null;
    try {
      master = crypto.keyIds().master;
    } catch {
      master = null;
    }
    const keys = error.code === 'KEY_MISMATCH' ? ` (encrypted with master key ${keyIdOfProtected(storedSecret)}; this instance's is ${master ?? 'not loaded'})` : '';
    throw new CapsuleError(
      error.code,
      `client.secret of OpenID provider ${name} does not decrypt${keys}; restore the key (capsule keys import) or enter the secret again (${reenterCommand(name)})`,
      { cause: error },
    );
  }
}

/** Whether a secret is set and under which key, without decrypting it. */
export function describeOidcSecret(settings: OidcSettings, crypto: CryptoSupport): { set: boolean; keyId: string | null; keyPresent: boolean | null } {
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
