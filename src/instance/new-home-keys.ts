import { generateKey, keyId, openBundle, type BundleKeys, type KeyIdPair } from '../crypto/index.js';
import { readKeyFile } from '../crypto/key-files.js';
import { newKeyExchange } from '../member/index.js';
import type { ExportedKeys } from '../member/protocol.js';
import { homeLayout } from './home.js';

// The operator's side (farm/) may not import crypto/: it gets the one keyIdsOf through here.
export { keyIdsOf } from '../crypto/index.js';
export type { KeyIdPair } from '../crypto/index.js';

/** A new farm's keys (`farm init`): made once, the same bytes imported into every new home. */
export function newFarmKeys(): BundleKeys {
  return { master: generateKey(), hmac: generateKey(), retiredHmac: [] };
}

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

/**
 * The ids of the keys in a home's key files ('none' for a missing one). For a home made by
 * `prepareInstanceHome` and never started: an instance's keys are otherwise read over its admin API.
 */
export function homeKeyIds(home: string): KeyIdPair {
  const layout = homeLayout(home);
  const master = readKeyFile(layout.masterKeyFile);
  const hmac = readKeyFile(layout.hmacKeyFile);
  return { master: master ? keyId(master) : 'none', hmac: hmac ? keyId(hmac) : 'none' };
}
