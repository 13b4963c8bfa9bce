import { join } from 'node:path';
import { CapsuleError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { failpoint } from '../support/failpoint.js';
import type { BundleKeys } from './bundle.js';
import { discardRetiredKeys, ensureKeysDir, keyPaths, readKeyFile, readMarker, readRetiredKeys, readRetiredMasterKeys, writeKeyFile, writeMarker, writeRetiredKey, writeRetiredMasterKey, type KeyLocations } from './key-files.js';
import { keyId } from './keys.js';
import { KEYS_COUNTER } from './migrate.js';
import { findProtectedValues } from './protected-values.js';
import { readRepositoryKeys, writeRepositoryKeys } from './repository-keys.js';

export interface ImportResult {
  readonly changed: boolean;
  readonly master: string;
  readonly hmac: string;
  /** Where the replaced keys were copied (with --force). */
  readonly backupDir: string | null;
  readonly message: string;
}

/**
 * Imports a key set into a home (which need not have a repository yet: a farm imports before
 * the first start). Keys that differ from the home's are replaced only with `force`, after a
 * copy of the old ones goes to `keys/backup-<time>/`. The hmac key is written before the
 * master key and the marker last, so an interrupted import never leaves a mixed set that
 * looks complete; running it again finishes it.
 */
export async function importKeys(
  locations: KeyLocations,
  repo: Repository | null,
  keys: BundleKeys,
  options: { force?: boolean; now: number },
): Promise<ImportResult> {
  const { now } = options;
  const paths = keyPaths(locations.keysDir);
  const marker = readMarker(locations.keysDir);
  const inRepository = marker === 'repository' && repo !== null;
  const existing = inRepository ? await readRepositoryKeys(repo) : { master: readKeyFile(paths.master) ?? undefined, hmac: readKeyFile(paths.hmac) ?? undefined };
  const ids = { master: keyId(keys.master), hmac: keyId(keys.hmac) };
  const same = existing.master?.equals(keys.master) === true && existing.hmac?.equals(keys.hmac) === true;
  const targetRetired = readRetiredKeys(locations.keysDir);
  const knownRetired = new Set(targetRetired.map((retired) => retired.kid));
  let missingRetired = keys.retiredHmac.filter((retired) => !knownRetired.has(keyId(retired.key)));
  // Retired master keys only decrypt: the home keeps its own and gains the bundle's (old backups need them).
  const knownRetiredMasters = new Set(readRetiredMasterKeys(locations.keysDir).map((retired) => retired.kid));
  const missingRetiredMasters = (keys.retiredMaster ?? []).filter((retired) => !knownRetiredMasters.has(keyId(retired.key)));

  if (same && marker !== null) {
    for (const retired of missingRetired) writeRetiredKey(locations.keysDir, retired.key, retired.retiredAt);
    for (const retired of missingRetiredMasters) writeRetiredMasterKey(locations.keysDir, retired.key, retired.retiredAt);
    return { changed: missingRetired.length + missingRetiredMasters.length > 0, ...ids, backupDir: null, message: `this home already has these keys (master ${ids.master}, hmac ${ids.hmac}); nothing to do` };
  }

  let backupDir: string | null = null;
  const hasOtherKeys = (existing.master && !existing.master.equals(keys.master)) || (existing.hmac && !existing.hmac.equals(keys.hmac));
  if (hasOtherKeys) {
    const orphaned = repo && existing.master
      ? (await findProtectedValues(repo, locations.configDir)).filter((value) => value.kid === keyId(existing.master!)).length
      : 0;
    const current = [existing.master && `master ${keyId(existing.master)}`, existing.hmac && `hmac ${keyId(existing.hmac)}`].filter(Boolean).join(', ');
    if (!options.force) {
      throw new CapsuleError(
        'KEY_CONFLICT',
        `this home has other keys (${current}; the bundle has master ${ids.master}, hmac ${ids.hmac})${orphaned ? ` and ${orphaned} protected values use them` : ''}; nothing was changed; pass --force to replace them (the old keys are copied to keys/backup-<time>/ first)`,
      );
    }
    backupDir = join(locations.keysDir, `backup-${new Date(now).toISOString().replace(/[:.]/g, '-')}`);
    if (existing.master) writeKeyFile(join(backupDir, 'master'), existing.master);
    if (existing.hmac) writeKeyFile(join(backupDir, 'hmac'), existing.hmac);
    for (const retired of targetRetired) writeRetiredKey(backupDir, retired.key, retired.retiredAt);
    failpoint('import:backup-written');
    // The replaced keys' retired predecessors must not keep verifying: they leave with the rest.
    discardRetiredKeys(locations.keysDir);
    missingRetired = [...keys.retiredHmac];
  }

  ensureKeysDir(locations.keysDir);
  if (inRepository) {
    await repo.transaction((tx) => writeRepositoryKeys(tx, keys));
  } else {
    writeKeyFile(paths.hmac, keys.hmac);
    failpoint('import:hmac-written');
    writeKeyFile(paths.master, keys.master);
    failpoint('import:master-written');
  }
  for (const retired of missingRetired) writeRetiredKey(locations.keysDir, retired.key, retired.retiredAt);
  for (const retired of missingRetiredMasters) writeRetiredMasterKey(locations.keysDir, retired.key, retired.retiredAt);
  if (marker === null) writeMarker(locations.keysDir, 'file');
  await repo?.bumpCounter(KEYS_COUNTER);
  return {
    changed: true,
    ...ids,
    backupDir,
    message: `imported master ${ids.master} and hmac ${ids.hmac}${backupDir ? `; the previous keys are in ${backupDir}` : ''}`,
  };
}
