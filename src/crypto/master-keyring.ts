import { CapsuleError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { requireKeyFile } from './file-storage-guards.js';
import { keyPaths, readKeyFile, readRetiredMasterKeys, type KeyLocations } from './key-files.js';
import { keyId } from './keys.js';
import { decrypt } from './protected-value.js';
import { requireReadable, scanProtectedValues, type ProtectedValueLocation } from './protected-values.js';

/* The master keys a home holds (current, staged, retired) and the check a rotation makes first. */

export interface MasterKeyring {
  readonly current: Buffer;
  readonly staged: Buffer | null;
  /** Every master key this home holds (current, staged, retired), by id. */
  readonly keys: ReadonlyMap<string, Buffer>;
}

export function readMasterKeyring(locations: KeyLocations): MasterKeyring {
  const paths = keyPaths(locations.keysDir);
  const current = requireKeyFile(paths.master);
  const staged = readKeyFile(paths.stagedMaster);
  const keys = new Map(readRetiredMasterKeys(locations.keysDir).map((retired) => [retired.kid, retired.key] as const));
  keys.set(keyId(current), current);
  if (staged) keys.set(keyId(staged), staged);
  return { current, staged, keys };
}

export function placeOf(value: ProtectedValueLocation): string {
  return `${value.source === 'repository' ? 'repository node' : 'config file'} ${value.path}`;
}

/**
 * Everything the rotation needs checked before it changes anything: every node and config file
 * readable, and every value under a key of this home decrypts. Otherwise a rotation would skip
 * a value, and the key it needs would be gone once the rotation ends.
 */
export async function checkBeforeMasterRotation(locations: KeyLocations, repo: Repository, keyring: MasterKeyring) {
  const scan = await scanProtectedValues(repo, locations.configDir);
  requireReadable(scan, 'the master key rotation');
  const currentKid = keyId(keyring.current);
  for (const value of scan.values) {
    if (!keyring.keys.has(value.kid)) continue;
    try {
      decrypt(value.value, keyring.keys, currentKid);
    } catch (error) {
      throw new CapsuleError(
        'PROTECTED_VALUE_INVALID',
        `the master key rotation stopped before changing anything: ${placeOf(value)} property ${value.property} (master ${value.kid}) does not decrypt: ${(error as Error).message}; enter that value again, then rotate`,
        { cause: error },
      );
    }
  }
  return scan.values;
}
