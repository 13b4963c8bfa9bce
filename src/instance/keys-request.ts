import { openBundle, type BundleKeys } from '../crypto/index.js';
import { newKeyExchange } from '../member/key-exchange.js';
import type { ExportedKeys } from '../member/protocol.js';

/**
 * The farm's keys asked of a member (`POST /system/farm/keys/export` with `publicKey`): its
 * answer is a `keys export` bundle whose passphrase the two sides agree by X25519 and never send.
 */
export interface KeysRequest {
  readonly publicKey: string;
  open(exported: ExportedKeys): BundleKeys;
}

export function newKeysRequest(): KeysRequest {
  const exchange = newKeyExchange();
  return {
    publicKey: exchange.publicKey,
    open(exported) {
      const passphrase = exchange.passphrase(exported.publicKey, exported.salt, { client: exchange.publicKey, server: exported.publicKey });
      return openBundle(exported.bundle, passphrase).keys;
    },
  };
}
