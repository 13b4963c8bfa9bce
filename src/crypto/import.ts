import { join } from 'node:path';
import { CapsuleError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { failpoint } from '../support/failpoint.js';
import { checkRetirementTimes, keyIdsOf, type BundleKeys } from './bundle.js';
import { discardRetiredKeys, ensureKeysDir, keyPaths, readKeyFile, readMarker, readRetiredKeys, readRetiredMasterKeys, writeKeyFile, writeMarker, writeRetiredKey, writeRetiredMasterKey, type KeyLocations } from './key-files.js';
import { keyId } from './keys.js';
import { KEYS_COUNTER } from './migrate.js';
import { findProtectedValues } from './protected-values.js';
import { KEY_NODE, readRepositoryKeys, writeRepositoryKeys, writeRepositoryRetiredMasters, type RepositoryKeys } from './repository-keys.js';
import { isSharedRepository } from './shared-repository.js';
import { withKeyOperationLock } from './key-operation-lock.js';

export interface ImportResult {
  readonly changed: boolean;
  readonly dryRun: boolean;
  readonly master: string;
  readonly hmac: string;
  /** Where the replaced keys were copied (with --force). */
  readonly backupDir: string | null;
  /** What the import does (or, with dryRun, would do), in order. */
  readonly steps: readonly string[];
  readonly message: string;
}

export interface ImportOptions {
  readonly force?: boolean;
  /** Check everything and say what would change; write nothing. */
  readonly dryRun?: boolean;
  readonly now: number;
}

function idsOf(keys: RepositoryKeys): string {
  return [keys.master && `master ${keyId(keys.master)}`, keys.hmac && `hmac ${keyId(keys.hmac)}`].filter(Boolean).join(', ');
}

/**
 * A home on a shared repository that keeps its own key files must hold the keys the other
 * authors read from /etc/key, or it could not verify their tokens nor decrypt their values
 * (and its next start refuses). `--force` does not change that: the cluster's keys change
 * where every author sees it, in /etc/key.
 */
function refuseKeysApartFromCluster(clusterKeys: RepositoryKeys, ids: { master: string; hmac: string }): CapsuleError {
  return new CapsuleError(
    'KEY_CONFLICT',
    `this home keeps its keys in files, on a repository shared by several authors whose keys are in ${KEY_NODE} (${idsOf(clusterKeys)}); the bundle has master ${ids.master}, hmac ${ids.hmac}, so this author could no longer verify the others' tokens nor decrypt their values; nothing was changed; import a bundle of the cluster's keys ('capsule keys export' on another author), or change the keys of the whole cluster by importing into an author whose keys/storage says 'repository'`,
  );
}

/**
 * Imports a key set into a home (which need not have a repository yet: a farm imports before
 * the first start). Keys that differ from the home's are replaced only with `force`, after a
 * copy of the old ones goes to `keys/backup-<time>/`. The hmac key is written before the
 * master key and the marker last, so an interrupted import never leaves a mixed set that
 * looks complete; running it again finishes it. A home whose keys are in the repository gets
 * them in /etc/key, where every author sharing that repository sees them.
 */
async function importKeysLocked(locations: KeyLocations, repo: Repository | null, keys: BundleKeys, options: ImportOptions): Promise<ImportResult> {
  const { now } = options;
  checkRetirementTimes(keys, now);
  const dryRun = options.dryRun ?? false;
  const paths = keyPaths(locations.keysDir);
  const marker = readMarker(locations.keysDir);
  const inRepository = marker === 'repository' && repo !== null;
  const shared = repo !== null && isSharedRepository(repo);
  // A home that keeps its keys in the repository has them there whether or not it is shared.
  const repositoryKeys = repo !== null && (inRepository || shared) ? await readRepositoryKeys(repo) : {};
  const clusterKeys = shared ? repositoryKeys : {};
  const existing = inRepository ? repositoryKeys : { master: readKeyFile(paths.master) ?? undefined, hmac: readKeyFile(paths.hmac) ?? undefined };
  const ids = keyIdsOf(keys);
  const same = existing.master?.equals(keys.master) === true && existing.hmac?.equals(keys.hmac) === true;
  const targetRetired = readRetiredKeys(locations.keysDir);
  const knownRetired = new Set(targetRetired.map((retired) => retired.kid));
  let missingRetired = keys.retiredHmac.filter((retired) => !knownRetired.has(keyId(retired.key)));
  // Retired master keys only decrypt: the home keeps its own and gains the bundle's (old backups need them).
  const knownRetiredMasters = new Set(readRetiredMasterKeys(locations.keysDir).map((retired) => retired.kid));
  // Retired masters every author reads: those in /etc/key, for a home that keeps its keys there.
  const sharedRetiredMasters = new Set((repositoryKeys.retiredMaster ?? []).map((retired) => retired.kid));
  const missingInRepository = inRepository ? (keys.retiredMaster ?? []).filter((retired) => !sharedRetiredMasters.has(keyId(retired.key))) : [];
  const missingRetiredMasters = (keys.retiredMaster ?? []).filter((retired) => !knownRetiredMasters.has(keyId(retired.key)));
  const steps: string[] = [];
  const dryRunResult = (backupDir: string | null): ImportResult => ({
    changed: false,
    dryRun: true,
    ...ids,
    backupDir,
    steps,
    message: steps.length === 0 ? `dry run: this home already has these keys (master ${ids.master}, hmac ${ids.hmac}); nothing would change` : `dry run, nothing was changed; 'capsule keys import' would:\n${steps.map((step) => `  - ${step}`).join('\n')}`,
  });

  if (shared && !inRepository && (clusterKeys.master || clusterKeys.hmac)) {
    const matchesCluster = clusterKeys.master?.equals(keys.master) !== false && clusterKeys.hmac?.equals(keys.hmac) !== false;
    if (!matchesCluster) throw refuseKeysApartFromCluster(clusterKeys, ids);
  }

  if (same && marker !== null) {
    if (missingRetired.length > 0) steps.push(`add ${missingRetired.length} retired hmac key${missingRetired.length === 1 ? '' : 's'} to ${paths.retiredDir}`);
    if (missingRetiredMasters.length > 0) steps.push(`add ${missingRetiredMasters.length} retired master key${missingRetiredMasters.length === 1 ? '' : 's'} to the home's retired master keys`);
    if (missingInRepository.length > 0) steps.push(`add ${missingInRepository.length} retired master key${missingInRepository.length === 1 ? '' : 's'} to ${KEY_NODE}, for every author that reads it`);
    if (dryRun) return dryRunResult(null);
    for (const retired of missingRetired) writeRetiredKey(locations.keysDir, retired.key, retired.retiredAt);
    for (const retired of missingRetiredMasters) writeRetiredMasterKey(locations.keysDir, retired.key, retired.retiredAt);
    if (missingInRepository.length > 0) {
      await repo!.transaction((tx) => writeRepositoryRetiredMasters(tx, missingInRepository), { durable: true });
      await repo!.bumpCounter(KEYS_COUNTER);
    }
    return { changed: missingRetired.length + missingRetiredMasters.length + missingInRepository.length > 0, dryRun, ...ids, backupDir: null, steps, message: `this home already has these keys (master ${ids.master}, hmac ${ids.hmac}); nothing to do` };
  }

  let backupDir: string | null = null;
  const hasOtherKeys = (existing.master && !existing.master.equals(keys.master)) || (existing.hmac && !existing.hmac.equals(keys.hmac));
  if (hasOtherKeys) {
    const orphaned = repo && existing.master
      ? (await findProtectedValues(repo, locations.configDir)).filter((value) => value.kid === keyId(existing.master!)).length
      : 0;
    const current = idsOf(existing);
    if (!options.force) {
      const others = inRepository && shared ? `; every author of this shared repository that keeps its keys in ${KEY_NODE} uses them` : '';
      throw new CapsuleError(
        'KEY_CONFLICT',
        `this home has other keys (${current}; the bundle has master ${ids.master}, hmac ${ids.hmac})${orphaned ? ` and ${orphaned} protected values use them` : ''}${others}; nothing was changed; pass --force to replace them (the old keys are copied to keys/backup-<time>/ first, and the old master key is kept as a retired master key)`,
      );
    }
    backupDir = join(locations.keysDir, `backup-${new Date(now).toISOString().replace(/[:.]/g, '-')}`);
    steps.push(`copy the current keys (${current}${targetRetired.length ? ` and ${targetRetired.length} retired hmac keys` : ''}) to ${backupDir}`);
    if (targetRetired.length > 0) steps.push(`remove the retired hmac keys of ${paths.retiredDir}`);
    missingRetired = [...keys.retiredHmac];
  }
  // A replaced master key is kept as a retired one: values it protected (and backups) still decrypt.
  const replacedMaster = existing.master && !existing.master.equals(keys.master) && !knownRetiredMasters.has(keyId(existing.master)) ? existing.master : null;
  if (replacedMaster) steps.push(`keep the replaced master ${keyId(replacedMaster)} as a retired master key${inRepository ? ` (in ${KEY_NODE} too, for every author that reads it)` : ''} (it still decrypts what it protected)`);
  steps.push(
    inRepository
      ? `write master ${ids.master} and hmac ${ids.hmac} to ${KEY_NODE}${shared ? ' (every author of this shared repository that keeps its keys there reloads them)' : ''}`
      : `write ${paths.hmac} (hmac ${ids.hmac}) and ${paths.master} (master ${ids.master})`,
  );
  if (missingRetired.length > 0) steps.push(`add ${missingRetired.length} retired hmac key${missingRetired.length === 1 ? '' : 's'} to ${paths.retiredDir}`);
  if (missingRetiredMasters.length > 0) steps.push(`add ${missingRetiredMasters.length} retired master key${missingRetiredMasters.length === 1 ? '' : 's'} to the home's retired master keys`);
  if (marker === null) steps.push(`write ${paths.marker}: 'file'`);
  if (dryRun) return dryRunResult(backupDir);

  if (backupDir) {
    if (existing.master) writeKeyFile(join(backupDir, 'master'), existing.master);
    if (existing.hmac) writeKeyFile(join(backupDir, 'hmac'), existing.hmac);
    for (const retired of targetRetired) writeRetiredKey(backupDir, retired.key, retired.retiredAt);
    failpoint('import:backup-written');
    // The replaced keys' retired predecessors must not keep verifying: they leave with the rest.
    discardRetiredKeys(locations.keysDir);
  }

  ensureKeysDir(locations.keysDir);
  // Before the master is replaced, so that a crash leaves the old key in one place or two, never none.
  if (replacedMaster) writeRetiredMasterKey(locations.keysDir, replacedMaster, now);
  if (inRepository) {
    // Every author that reads /etc/key needs the replaced master too, not only this one's disk.
    const replaced = existing.master && !existing.master.equals(keys.master) ? existing.master : null;
    const retiredForAll = [...(replaced ? [{ key: replaced, retiredAt: now }] : []), ...missingRetiredMasters];
    await repo.transaction(async (tx) => {
      await writeRepositoryKeys(tx, keys);
      await writeRepositoryRetiredMasters(tx, retiredForAll);
    }, { durable: true });
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
  const replacedShared = inRepository && shared && hasOtherKeys;
  return {
    changed: true,
    dryRun,
    ...ids,
    backupDir,
    steps,
    message: `imported master ${ids.master} and hmac ${ids.hmac}${inRepository ? ` into ${KEY_NODE}` : ''}${backupDir ? `; the previous keys are in ${backupDir}` : ''}${
      replacedShared
        ? `; every author that keeps its keys in ${KEY_NODE} reloads them within a second; an author with key files (keys/storage 'file') needs this bundle imported too`
        : ''
    }`,
  };
}

/** See `importKeysLocked`; a real run holds the home's key-operation lock. */
export async function importKeys(locations: KeyLocations, repo: Repository | null, keys: BundleKeys, options: ImportOptions): Promise<ImportResult> {
  if (options.dryRun) return importKeysLocked(locations, repo, keys, options);
  return withKeyOperationLock(locations, 'keys import', () => importKeysLocked(locations, repo, keys, options));
}
