import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { checkKeyBytes } from '../crypto/index.js';
import { CapsuleError } from '../errors.js';
import { SEALED_KEY_FORMAT, type SealedKey } from './protocol.js';

/**
 * An HMAC key in transit between farm members: AES-256-GCM under a key derived (HKDF-SHA256,
 * random salt) from the farm's HMAC key, so only a member that already holds that key reads it.
 * The operator's machine relays it and never sees the key in clear.
 */
const INFO = Buffer.from('capsule farm: hmac key in transit');

function wrappingKey(farmKey: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', farmKey, salt, INFO, 32));
}

function aad(sealedWith: string): Buffer {
  return Buffer.from(`${SEALED_KEY_FORMAT}:${sealedWith}`);
}

export function sealKey(key: Buffer, farmKey: { kid: string; key: Buffer }): SealedKey {
  const salt = randomBytes(32);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', wrappingKey(farmKey.key, salt), nonce);
  cipher.setAAD(aad(farmKey.kid));
  const ciphertext = Buffer.concat([cipher.update(key), cipher.final()]);
  return {
    format: SEALED_KEY_FORMAT,
    sealedWith: farmKey.kid,
    salt: salt.toString('base64url'),
    nonce: nonce.toString('base64url'),
    ciphertext: ciphertext.toString('base64url'),
    tag: cipher.getAuthTag().toString('base64url'),
  };
}

/** `farmKeyOf(kid)`: the member's current, staged or retired HMAC key of that id, if it has one. */
export function openSealedKey(sealed: SealedKey, farmKeyOf: (kid: string) => Buffer | undefined, currentKid: string): Buffer {
  const farmKey = farmKeyOf(sealed.sealedWith);
  if (!farmKey) {
    throw new CapsuleError(
      'KEY_CONFLICT',
      `the key was sealed with hmac ${sealed.sealedWith}, which this member does not hold (it signs with ${currentKid}): it is not in the same farm; give it the farm's keys first ('capsule keys import')`,
    );
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', wrappingKey(farmKey, Buffer.from(sealed.salt, 'base64url')), Buffer.from(sealed.nonce, 'base64url'));
    decipher.setAAD(aad(sealed.sealedWith));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64url'));
    const key = Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64url')), decipher.final()]);
    return checkKeyBytes(key, 'the sealed HMAC key');
  } catch (error) {
    if (error instanceof CapsuleError) throw error;
    throw new CapsuleError('PROTECTED_VALUE_INVALID', 'the sealed HMAC key does not open: it was damaged or tampered with in transit; nothing was changed');
  }
}

