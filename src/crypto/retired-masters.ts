import { join } from 'node:path';
import { CapsuleError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { failpoint } from '../support/failpoint.js';
import { keyPaths, removeRetiredMasterKey, scanRetiredMasterKeys, type KeyLocations } from './key-files.js';
import { loadKeySet } from './key-set.js';
import { keyId } from './keys.js';
import { KEYS_COUNTER } from './migrate.js';
import { describeReference, requireReadable, scanProtectedValues, type ProtectedValueLocation } from './protected-values.js';
import { withKeyOperationLock } from './key-operation-lock.js';
import { KEY_NODE, readRepositoryKeys } from './repository-keys.js';

export interface RetiredMasterRemoval {
  readonly removed: string;
  /** When the rotation that replaced it ran (ISO 8601); null for a damaged file. */
  readonly retiredAt: string | null;
  readonly message: string;
}

/** "2 in repository node /conf/system/x, 1 in config file …/y.json" */
export function describePlaces(values: readonly ProtectedValueLocation[]): string {
  const counts = new Map<string, number>();
  for (const value of values) {
    const place = `${value.source === 'repository' ? 'repository node' : 'config file'} ${value.path}`;
    counts.set(place, (counts.get(place) ?? 0) + 1);
  }
  return [...counts].map(([place, count]) => `${count} in ${place}`).join(', ');
}

/**
 * Removes a retired master key for good, only when no protected value of this home uses it and
 * the operator has confirmed that backups taken before its retirement will no longer decrypt.
 * Refusals change nothing.
 */
async function removeRetiredMasterLocked(
  locations: KeyLocations,
  repo: Repository,
  kid: string,
  options: { confirmed: boolean; ignoreReferences?: boolean },
): Promise<RetiredMasterRemoval> {
  if (!/^[0-9a-f]{16}$/.test(kid)) {
    throw new CapsuleError('INVALID_ARGUMENT', `'${kid.slice(0, 40)}' is not a key id (16 hex digits, as 'capsule keys fingerprint' prints them)`);
  }
  // A retired master in /etc/key serves every author that reads it: removing this home's file
  // would say "removed" while the key stays in use, and this home cannot see the others' values.
  if ((await readRepositoryKeys(repo)).retiredMaster?.some((retired) => retired.kid === kid)) {
    throw new CapsuleError('INVALID_ARGUMENT', `retired master ${kid} is kept in ${KEY_NODE} for every author that reads it, which this command does not change; nothing was removed`);
  }
  const keys = await loadKeySet(locations.keysDir, repo);
  if (kid === keyId(keys.master) || (keys.stagedMaster && kid === keyId(keys.stagedMaster))) {
    throw new CapsuleError('INVALID_ARGUMENT', `master ${kid} is this home's ${kid === keyId(keys.master) ? 'current' : 'staged'} master key, not a retired one; nothing was removed`);
  }
  const { keys: retiredKeys, damaged } = scanRetiredMasterKeys(locations.keysDir);
  const retired = retiredKeys.find((key) => key.kid === kid);
  const dir = keyPaths(locations.keysDir).retiredMasterDir;
  const damagedFile = damaged.find((file) => file.name === kid);
  if (damagedFile && !retired) {
    if (damagedFile.holds !== null) {
      // It holds another key, which may well be needed: removing it by its name would lose that key.
      throw new CapsuleError('KEY_CONFLICT', `${damagedFile.reason}; nothing was removed; rename it after the key it holds (or move it away), then run 'capsule keys doctor'`);
    }
    // No key in it: removing it loses nothing that could decrypt.
    if (!options.confirmed) {
      throw new CapsuleError('INVALID_ARGUMENT', `${damagedFile.reason}; it holds no usable key; nothing was removed; run again with --yes to remove the file (a value under master ${kid} then needs a key bundle that holds it)`);
    }
    removeRetiredMasterKey(locations.keysDir, kid);
    await repo.bumpCounter(KEYS_COUNTER);
    return { removed: kid, retiredAt: null, message: `removed the damaged retired master key file ${damagedFile.file} (it held no usable key)` };
  }
  if (!retired) {
    throw new CapsuleError(
      'INVALID_ARGUMENT',
      `no retired master key ${kid} in ${dir} (retired master keys here: ${retiredKeys.map((key) => key.kid).join(', ') || 'none'}); nothing was removed`,
    );
  }
  const scan = await scanProtectedValues(repo, locations.configDir);
  requireReadable(scan, 'removing a retired master key');
  const users = scan.values.filter((value) => value.kid === kid);
  if (users.length > 0) {
    throw new CapsuleError(
      'KEY_CONFLICT',
      `${users.length} protected value${users.length === 1 ? '' : 's'} still use${users.length === 1 ? 's' : ''} retired master ${kid} (${describePlaces(users)}); nothing was removed; ${
        users.some((value) => value.reference)
          ? `a value a reference gives (${[...new Set(users.flatMap((value) => value.reference ?? []))].join(', ')}) must be protected again at its source ('capsule keys protect') and stored there; re-encrypt the others with 'capsule keys rotate --master'`
          : `re-encrypt ${users.length === 1 ? 'it' : 'them'} with 'capsule keys rotate --master' (it re-encrypts every value under a key this home holds) or enter ${users.length === 1 ? 'it' : 'them'} again`
      }`,
    );
  }
  // What a reference gives depends on the environment of the process that reads it: the
  // instance's may differ from this command's, so no scan here proves the key is unused.
  if (scan.references.length > 0 && !options.ignoreReferences) {
    throw new CapsuleError(
      'KEY_CONFLICT',
      `${scan.references.length} secret propert${scan.references.length === 1 ? 'y holds a reference' : 'ies hold references'} whose value this command cannot see as the instance sees it: ${scan.references.map(describeReference).join('; ')}; nothing was removed; make sure none of them gives the instance a value protected with master ${kid} (a value protected with it must be protected again with 'capsule keys protect' at its source), then run again with --ignore-references`,
    );
  }
  const retiredAt = new Date(retired.retiredAt).toISOString();
  const consequence = `a backup of the repository or of a config file taken before ${retiredAt} (when ${kid} was retired) will no longer decrypt with this home's keys, only with a key bundle exported before then`;
  if (!options.confirmed) {
    throw new CapsuleError('INVALID_ARGUMENT', `removing retired master ${kid} is final: ${consequence}; no value here uses it; nothing was removed; run again with --yes to remove it`);
  }
  removeRetiredMasterKey(locations.keysDir, kid);
  failpoint('remove-retired-master:removed');
  await repo.bumpCounter(KEYS_COUNTER);
  return { removed: kid, retiredAt, message: `removed retired master ${kid} (${join(dir, kid)}); no value here used it; ${consequence}` };
}

export async function removeRetiredMaster(
  locations: KeyLocations,
  repo: Repository,
  kid: string,
  options: { confirmed: boolean; ignoreReferences?: boolean },
): Promise<RetiredMasterRemoval> {
  return withKeyOperationLock(locations, 'keys remove-retired-master', () => removeRetiredMasterLocked(locations, repo, kid, options));
}
