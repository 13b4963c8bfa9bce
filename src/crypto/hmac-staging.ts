import { CapsuleError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { failpoint } from '../support/failpoint.js';
import { discardRetiredKeys, keyPaths, readKeyFile, removeFile, writeKeyFile, writeRetiredKey, type KeyLocations } from './key-files.js';
import { checkKeyBytes, keyId } from './keys.js';
import { requireFileStorage, requireKeyFile } from './file-storage-guards.js';
import { KEYS_COUNTER } from './migrate.js';

/*
 * `rotateHmacKey` split in two for a farm: a new key is staged on every instance (it verifies,
 * never signs) and promoted only once every instance has loaded it, so no instance ever signs
 * a token that another cannot verify.
 */



export interface StagedHmacKey {
  /** The id of the staged key. */
  readonly staged: string;
  /** False when the key was already staged here, or already signs here. */
  readonly changed: boolean;
  readonly message: string;
}

/**
 * Writes `key` to `keys/staged/hmac`, where a running instance loads it for verification only.
 * A different staged key is replaced: a staged key never signed anything, so nothing depends
 * on it.
 */
export async function stageHmacKey(locations: KeyLocations, repo: Repository, key: Buffer): Promise<StagedHmacKey> {
  requireFileStorage(locations, 'staging an HMAC key');
  const paths = keyPaths(locations.keysDir);
  const kid = keyId(checkKeyBytes(key, 'the HMAC key to stage'));
  const current = requireKeyFile(paths.hmac);
  if (current.equals(key)) {
    return { staged: kid, changed: false, message: `hmac ${kid} already signs here; nothing to stage` };
  }
  if (readKeyFile(paths.stagedHmac)?.equals(key)) {
    return { staged: kid, changed: false, message: `hmac ${kid} is already staged here` };
  }
  writeKeyFile(paths.stagedHmac, key);
  failpoint('stage-hmac:written');
  await repo.bumpCounter(KEYS_COUNTER);
  return { staged: kid, changed: true, message: `staged hmac ${kid}: it verifies tokens here, and signs none until it is promoted` };
}

export interface HmacPromotion {
  readonly previous: string;
  readonly current: string;
  /** False for the compromise playbook: the old key is dropped and every token it signed ends. */
  readonly previousKept: boolean;
  /** Keys retired by earlier rotations that the compromise playbook dropped too. */
  readonly discarded: readonly string[];
  /** False when the staged key already signed here (a rerun after an interruption). */
  readonly changed: boolean;
  readonly message: string;
}

/**
 * staged → current, current → retired (it verifies until its tokens expire). The retired copy is
 * written before the current key is replaced and the staged file removed last, so a crash at
 * any point leaves a home that starts and verifies every token; running it again finishes.
 * `expectedKid` refuses to promote a staged key other than the one the caller staged.
 * Without `keepPrevious` (the compromise playbook) no old key survives: neither the current one
 * nor any retired by earlier rotations. They go first, so a rerun after a crash never finds one.
 */
export async function promoteStagedHmacKey(
  locations: KeyLocations,
  repo: Repository,
  options: { expectedKid?: string; keepPrevious?: boolean; now: number },
): Promise<HmacPromotion> {
  requireFileStorage(locations, 'promoting a staged HMAC key');
  const paths = keyPaths(locations.keysDir);
  const keepPrevious = options.keepPrevious ?? true;
  const current = requireKeyFile(paths.hmac);
  const staged = readKeyFile(paths.stagedHmac);
  const currentKid = keyId(current);
  // Dropped only once the promotion is sure to go ahead: a refusal changes nothing.
  const discardRetired = () => (keepPrevious ? [] : discardRetiredKeys(locations.keysDir));
  if (!staged) {
    if (options.expectedKid === currentKid) {
      const discarded = discardRetired();
      return { previous: currentKid, current: currentKid, previousKept: keepPrevious, discarded, changed: false, message: `hmac ${currentKid} already signs here` };
    }
    throw new CapsuleError('KEY_MISSING', `${paths.stagedHmac} is missing: there is no staged HMAC key to promote; nothing was changed`);
  }
  const stagedKid = keyId(staged);
  if (options.expectedKid !== undefined && stagedKid !== options.expectedKid) {
    throw new CapsuleError(
      'KEY_CONFLICT',
      `${paths.stagedHmac} holds hmac ${stagedKid}, not the expected ${options.expectedKid}; nothing was changed`,
    );
  }
  const discarded = discardRetired();
  if (staged.equals(current)) {
    removeFile(paths.stagedHmac); // an earlier run was interrupted after promoting
    await repo.bumpCounter(KEYS_COUNTER);
    return { previous: currentKid, current: currentKid, previousKept: keepPrevious, discarded, changed: false, message: `finished an interrupted promotion; hmac ${currentKid} signs` };
  }
  if (keepPrevious) writeRetiredKey(locations.keysDir, current, options.now);
  failpoint(keepPrevious ? 'promote-hmac:retired' : 'promote-hmac:discarded');
  writeKeyFile(paths.hmac, staged);
  failpoint('promote-hmac:promoted');
  removeFile(paths.stagedHmac);
  await repo.bumpCounter(KEYS_COUNTER);
  return {
    previous: currentKid,
    current: stagedKid,
    previousKept: keepPrevious,
    discarded,
    changed: true,
    message: keepPrevious
      ? `hmac ${stagedKid} signs now; ${currentKid} is retired and still verifies the tokens it signed until they expire`
      : `hmac ${stagedKid} signs now; ${[currentKid, ...discarded].join(', ')} ${discarded.length ? 'were' : 'was'} dropped: every token signed before is void`,
  };
}
