import { createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { CapsuleError } from '../errors.js';
import { publicKeySchema } from './protocol.js';

/**
 * The passphrase of a `keys export` bundle sent to `farm add-instance`, agreed by an ephemeral
 * X25519 exchange (HKDF-SHA256 over the shared secret, a random salt and both public keys). The
 * passphrase itself never travels, so someone who reads the request and the answer (plain HTTP
 * between machines) cannot open the bundle. It does not authenticate the author: that is the
 * admin login's job, and over an untrusted network the members need HTTPS all the same.
 */
const INFO_PREFIX = 'capsule farm: keys export v1';

export interface KeyExchange {
  /** This side's public key (32 bytes, base64url). */
  readonly publicKey: string;
  /** The passphrase both sides derive; `client` and `server` are the two public keys. */
  passphrase(peerPublicKey: string, salt: string, roles: { client: string; server: string }): string;
}

function importPublicKey(x: string): KeyObject {
  if (!publicKeySchema.safeParse(x).success) throw new CapsuleError('INVALID_ARGUMENT', 'publicKey: not an X25519 public key (32 bytes, base64url)');
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
  } catch {
    throw new CapsuleError('INVALID_ARGUMENT', 'publicKey: not an X25519 public key');
  }
}

export function newKeyExchange(): KeyExchange {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const own = publicKey.export({ format: 'jwk' }).x!;
  return {
    publicKey: own,
    passphrase(peerPublicKey, salt, roles) {
      const peer = importPublicKey(peerPublicKey);
      let shared: Buffer;
      try {
        shared = diffieHellman({ privateKey, publicKey: peer });
      } catch {
        // A low-order point (all zeros, for one) gives no shared secret: OpenSSL refuses it.
        throw new CapsuleError('INVALID_ARGUMENT', 'publicKey: not usable for a key exchange; send a freshly made X25519 public key');
      }
      const info = Buffer.from(`${INFO_PREFIX}:${roles.client}:${roles.server}`);
      return Buffer.from(hkdfSync('sha256', shared, Buffer.from(salt, 'base64url'), info, 32)).toString('base64url');
    },
  };
}

export function newExchangeSalt(): string {
  return randomBytes(32).toString('base64url');
}
