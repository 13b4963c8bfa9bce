import { CapsuleError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { failpoint } from '../support/failpoint.js';
import { join } from 'node:path';
import { keyPaths, readKeyFile, removeFile, writeKeyFile, writeNewKeyFile, writeRetiredMasterKey, type KeyLocations } from './key-files.js';
import { checkBeforeMasterRotation, readMasterKeyring } from './master-keyring.js';
import { promoteStagedHmacKey, stageHmacKey } from './hmac-staging.js';
import { generateKey, keyId } from './keys.js';
import { requireFileStorage } from './file-storage-guards.js';
import { KEYS_COUNTER } from './migrate.js';
import { decrypt, encrypt, keyIdOfProtected } from './protected-value.js';
import { findProtectedValues, rewriteProtectedValues, type RewriteProgress } from './protected-values.js';
import { refuseRotationOnSharedRepository } from './shared-repository.js';
import { withKeyOperationLock } from './key-operation-lock.js';

export interface HmacRotation {
  readonly previous: string;
  readonly current: string;
  /** False for the compromise playbook: the old keys are dropped and every token ends. */
  readonly previousKept: boolean;
  /** Keys retired by earlier rotations that the compromise playbook dropped too. */
  readonly discarded: readonly string[];
  readonly message: string;
}

/**
 * staged → current → retired on one instance: a new key is staged and promoted at once (the
 * farm does the same two steps with a wait between them). A key left staged by an interrupted
 * run is promoted instead of a new one, so a rerun finishes that rotation.
 */
async function rotateHmacKeyLocked(
  locations: KeyLocations,
  repo: Repository,
  options: { keepPrevious?: boolean; now: number },
): Promise<HmacRotation> {
  refuseRotationOnSharedRepository(repo, 'keys rotate --hmac');
  requireFileStorage(locations, 'key rotation');
  const paths = keyPaths(locations.keysDir);
  const staged = readKeyFile(paths.stagedHmac);
  if (!staged) await stageHmacKey(locations, repo, generateKey());
  const { previous, current, previousKept, discarded, message } = await promoteStagedHmacKey(locations, repo, options);
  return { previous, current, previousKept, discarded, message };
}

export interface MasterRotation {
  readonly previous: string;
  readonly current: string;
  readonly reencrypted: number;
  /** Values under some other key, left as they were (see `capsule keys doctor`). */
  readonly foreign: number;
  /** The master key kept in keys/retired-master/ (null when a rerun only finished a rotation). */
  readonly retired: string | null;
  readonly message: string;
}

/**
 * A new master key and every protected value re-encrypted with it. Nothing is changed until
 * every node and config file has been read and every value decrypts. The new key is staged
 * first (a running instance then encrypts with it and decrypts with both), values are rewritten
 * one node or file at a time, and only when none is left under an older key is the old master
 * retired to keys/retired-master/ (it still decrypts backups taken before) and replaced. Killed
 * at any point, the home starts and decrypts everything; a rerun finishes the rotation.
 */
async function rotateMasterKeyLocked(
  locations: KeyLocations,
  repo: Repository,
  options: { bumpCounters?: readonly string[]; onProgress?: RewriteProgress; now?: number } = {},
): Promise<MasterRotation> {
  refuseRotationOnSharedRepository(repo, 'keys rotate --master');
  requireFileStorage(locations, 'key rotation');
  const paths = keyPaths(locations.keysDir);
  const keyring = readMasterKeyring(locations);
  await checkBeforeMasterRotation(locations, repo, keyring);
  const old = keyring.current;
  let next = keyring.staged;
  if (!next) {
    next = generateKey();
    if (!writeNewKeyFile(paths.stagedMaster, next)) {
      throw new CapsuleError('KEY_CONFLICT', `${paths.stagedMaster} appeared while this rotation started (another key command?); nothing was changed; run 'capsule keys rotate --master' again`);
    }
    await repo.bumpCounter(KEYS_COUNTER);
  }
  failpoint('rotate-master:staged');
  const oldKid = keyId(old);
  const newKid = keyId(next);
  const keys = new Map(keyring.keys).set(newKid, next);
  const isOlder = (kid: string | null) => kid !== null && kid !== newKid && keys.has(kid);
  let reencrypted = 0;
  if (oldKid !== newKid) {
    let rewrittenSoFar = 0;
    // Values written with the old key while this ran (an instance that had not yet reloaded)
    // are caught by the next pass.
    for (let pass = 0; pass < 5; pass++) {
      reencrypted += await rewriteProtectedValues(
        repo,
        locations.configDir,
        (value) => {
          if (!isOlder(keyIdOfProtected(value))) return null;
          if (++rewrittenSoFar === 2) failpoint('rotate-master:rewriting');
          return encrypt(decrypt(value, keys, newKid), next, newKid);
        },
        { bumpCounters: options.bumpCounters, onProgress: options.onProgress },
      );
      const left = (await findProtectedValues(repo, locations.configDir)).filter((value) => value.reference === undefined && isOlder(value.kid));
      if (left.length === 0) break;
      if (pass === 4) {
        throw new CapsuleError('CHECK_FAILED', `${left.length} values are still encrypted with an older master key; the new key stays staged; run the rotation again`);
      }
    }
    failpoint('rotate-master:rewritten');
    // Whatever is current now is what gets retired: had anything replaced it meanwhile, the
    // rotation would otherwise retire a key that is no longer there and lose the new one.
    const currentNow = readKeyFile(paths.master);
    if (!currentNow?.equals(old)) {
      throw new CapsuleError(
        'CHECK_FAILED',
        `${paths.master} changed while this rotation ran (master ${currentNow ? keyId(currentNow) : 'missing'}, was ${oldKid}); the rotation stopped before retiring or replacing it; the new key stays staged (${paths.stagedMaster}) and every value decrypts; run 'capsule keys doctor', then 'capsule keys rotate --master' again`,
      );
    }
    // Kept before it is replaced: a crash in between leaves it in both places, never in none.
    writeRetiredMasterKey(locations.keysDir, currentNow, options.now);
    failpoint('rotate-master:retired');
    writeKeyFile(paths.master, next);
    failpoint('rotate-master:promoted');
  }
  removeFile(paths.stagedMaster);
  await repo.bumpCounter(KEYS_COUNTER);
  const foreign = (await findProtectedValues(repo, locations.configDir)).filter((value) => !keys.has(value.kid)).length;
  return {
    previous: oldKid,
    current: newKid,
    reencrypted,
    foreign,
    retired: oldKid === newKid ? null : oldKid,
    message:
      oldKid === newKid
        ? `finished an interrupted rotation; master ${newKid} is current`
        : `master ${newKid} replaces ${oldKid}; ${reencrypted} protected values re-encrypted; ${oldKid} is retired to ${join(paths.retiredMasterDir, oldKid)} and still decrypts backups taken before${foreign ? `; ${foreign} values under keys this home does not hold were left alone (see 'capsule keys doctor')` : ''}`,
  };
}

/** See `rotateHmacKeyLocked`; holds the home's key-operation lock. */
export async function rotateHmacKey(locations: KeyLocations, repo: Repository, options: { keepPrevious?: boolean; now: number }): Promise<HmacRotation> {
  refuseRotationOnSharedRepository(repo, 'keys rotate --hmac'); // before the lock: the refusal is the answer, not a busy lock
  return withKeyOperationLock(locations, 'keys rotate --hmac', () => rotateHmacKeyLocked(locations, repo, options));
}

/** See `rotateMasterKeyLocked`; holds the home's key-operation lock. */
export async function rotateMasterKey(
  locations: KeyLocations,
  repo: Repository,
  options: { bumpCounters?: readonly string[]; onProgress?: RewriteProgress; now?: number } = {},
): Promise<MasterRotation> {
  refuseRotationOnSharedRepository(repo, 'keys rotate --master');
  return withKeyOperationLock(locations, 'keys rotate --master', () => rotateMasterKeyLocked(locations, repo, options));
}
