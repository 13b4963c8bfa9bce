import { generateKey, keyId, type BundleKeys, type KeyIdPair } from '../crypto/index.js';
import { readKeyFile } from '../crypto/key-files.js';
import { homeLayout } from './home.js';

// The operator's side (farm/) may not import crypto/: it gets the one keyIdsOf through here.
export { keyIdsOf } from '../crypto/index.js';
export type { KeyIdPair } from '../crypto/index.js';

/** A new farm's keys (`farm init`): made once, the same bytes imported into every new home. */
export function newFarmKeys(): BundleKeys {
  return { master: generateKey(), hmac: generateKey(), retiredHmac: [] };
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
