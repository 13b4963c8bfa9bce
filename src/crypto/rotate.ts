import { CapsuleError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { failpoint } from '../support/failpoint.js';
import { join } from 'node:path';
import { keyPaths, readKeyFile, readRetiredKeys, readRetiredMasterKeys, removeFile, writeKeyFile, writeRetiredMasterKey, type KeyLocations } from './key-files.js';
import { promoteStagedHmacKey, stageHmacKey } from './hmac-staging.js';
import { generateKey, keyId } from './keys.js';
import { requireFileStorage, requireKeyFile } from './file-storage-guards.js';
import { KEYS_COUNTER } from './migrate.js';
import { decrypt, encrypt, keyIdOfProtected } from './protected-value.js';
import { findProtectedValues, requireReadable, rewriteProtectedValues, scanProtectedValues, type ProtectedValueLocation, type RewriteProgress } from './protected-values.js';

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
export async function rotateHmacKey(
  locations: KeyLocations,
  repo: Repository,
  options: { keepPrevious?: boolean; now: number },
): Promise<HmacRotation> {
  requireFileStorage(locations, 'key rotation');
  const paths = keyPaths(locations.keysDir);
  const staged = readKeyFile(paths.stagedHmac);
  if (!staged) await stageHmacKey(locations, repo, generateKey());
  const { previous, current, previousKept, discarded, message } = await promoteStagedHmacKey(locations, repo, options);
  return { previous, current, previousKept, discarded, message };
}

export interface HmacRotationPlan {
  readonly current: string;
  /** The staged key a rotation would promote (an interrupted one), or null: a new key is made. */
  readonly staged: string | null;
  /** Keys that would stop verifying at once (--discard-old): the current one and every retired one. */
  readonly discarded: readonly string[];
  /** Key files that would be written or removed. */
  readonly files: readonly string[];
  readonly message: string;
}

/** What `rotateHmacKey` would do, changing nothing. */
export function planHmacRotation(locations: KeyLocations, options: { keepPrevious?: boolean } = {}): HmacRotationPlan {
  requireFileStorage(locations, 'key rotation');
  const paths = keyPaths(locations.keysDir);
  const keepPrevious = options.keepPrevious ?? true;
  const currentKid = keyId(requireKeyFile(paths.hmac));
  const staged = readKeyFile(paths.stagedHmac);
  const stagedKid = staged ? keyId(staged) : null;
  const retired = readRetiredKeys(locations.keysDir).map((key) => key.kid);
  const discarded = keepPrevious ? [] : [currentKid, ...retired.filter((kid) => kid !== currentKid)];
  const files = [
    ...(stagedKid ? [] : [paths.stagedHmac]),
    ...(keepPrevious ? [join(paths.retiredDir, currentKid)] : retired.map((kid) => join(paths.retiredDir, kid))),
    paths.hmac,
    paths.stagedHmac,
  ];
  const next = stagedKid ? `promote the staged hmac ${stagedKid} (an interrupted rotation)` : 'make a new hmac key (staged, then promoted)';
  return {
    current: currentKid,
    staged: stagedKid,
    discarded,
    files,
    message: [
      'dry run: nothing was changed',
      `would ${next}; it signs from then on`,
      keepPrevious
        ? `would retire hmac ${currentKid} to ${join(paths.retiredDir, currentKid)}: it verifies the tokens it signed until they expire`
        : `would drop ${discarded.join(', ')} at once: every token signed before is void`,
      `files written or removed: ${files.join(', ')}`,
    ].join('\n'),
  };
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

export interface MasterRotationPlan {
  /** The master key that encrypts now. */
  readonly previous: string;
  /** The staged key an interrupted rotation left (it is finished, not replaced), or null: a new key is made. */
  readonly staged: string | null;
  /** Protected values that would be re-encrypted, by the key id they are under now. */
  readonly reencrypt: Readonly<Record<string, number>>;
  /** Nodes and config files holding them. */
  readonly places: readonly string[];
  /** Values under keys this home does not hold: left as they are. */
  readonly foreign: number;
  /** Key files that would be written or removed. */
  readonly files: readonly string[];
  readonly message: string;
}

interface MasterKeyring {
  readonly current: Buffer;
  readonly staged: Buffer | null;
  /** Every master key this home holds (current, staged, retired), by id. */
  readonly keys: ReadonlyMap<string, Buffer>;
}

function readMasterKeyring(locations: KeyLocations): MasterKeyring {
  const paths = keyPaths(locations.keysDir);
  const current = requireKeyFile(paths.master);
  const staged = readKeyFile(paths.stagedMaster);
  const keys = new Map(readRetiredMasterKeys(locations.keysDir).map((retired) => [retired.kid, retired.key] as const));
  keys.set(keyId(current), current);
  if (staged) keys.set(keyId(staged), staged);
  return { current, staged, keys };
}

function placeOf(value: ProtectedValueLocation): string {
  return `${value.source === 'repository' ? 'repository node' : 'config file'} ${value.path}`;
}

/**
 * Everything the rotation needs checked before it changes anything: every node and config file
 * readable, and every value under a key of this home decrypts. Otherwise a rotation would skip
 * a value, and the key it needs would be gone once the rotation ends.
 */
async function preflightMasterRotation(locations: KeyLocations, repo: Repository, keyring: MasterKeyring) {
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

/** What `rotateMasterKey` would do, changing nothing; refuses, as the rotation would, what it could not read. */
export async function planMasterRotation(locations: KeyLocations, repo: Repository): Promise<MasterRotationPlan> {
  requireFileStorage(locations, 'key rotation');
  const paths = keyPaths(locations.keysDir);
  const keyring = readMasterKeyring(locations);
  const values = await preflightMasterRotation(locations, repo, keyring);
  const previous = keyId(keyring.current);
  const staged = keyring.staged ? keyId(keyring.staged) : null;
  const finishing = staged === previous;
  // A rerun after the new key was promoted only removes the staged copy.
  const toReencrypt = finishing ? [] : values.filter((value) => keyring.keys.has(value.kid) && value.kid !== staged);
  const reencrypt: Record<string, number> = {};
  for (const value of toReencrypt) reencrypt[value.kid] = (reencrypt[value.kid] ?? 0) + 1;
  const places = [...new Set(toReencrypt.map(placeOf))];
  const foreign = values.filter((value) => !keyring.keys.has(value.kid)).length;
  const retiredFile = join(paths.retiredMasterDir, previous);
  const files = finishing ? [paths.stagedMaster] : [...(staged ? [] : [paths.stagedMaster]), retiredFile, paths.master, paths.stagedMaster];
  const configFiles = [...new Set(toReencrypt.filter((value) => value.source === 'config-file').map((value) => value.path))];
  const under = Object.entries(reencrypt).map(([kid, count]) => `${count} under ${kid === previous ? 'current' : kid === staged ? 'staged' : 'retired'} master ${kid}`);
  const message = [
    'dry run: nothing was changed',
    finishing
      ? `would finish an interrupted rotation: master ${previous} is already current`
      : staged
        ? `would finish the interrupted rotation to the staged master ${staged}`
        : 'would make a new master key and stage it (a running instance encrypts with it from then on)',
    `would re-encrypt ${toReencrypt.length} protected values${under.length ? ` (${under.join(', ')})` : ''}${places.length ? ` in: ${places.join(', ')}` : ''}`,
    ...(finishing ? [] : [`would retire master ${previous} to ${retiredFile}: it keeps decrypting values and backups written with it`]),
    ...(foreign ? [`would leave ${foreign} values under keys this home does not hold as they are (see 'capsule keys doctor')`] : []),
    `files written or removed: ${[...files, ...configFiles].join(', ')}`,
  ].join('\n');
  return { previous, staged, reencrypt, places, foreign, files: [...files, ...configFiles], message };
}

/** What to do after any master rotation: a bundle exported before lacks the new key. */
export function exportAdvice(kid: string): string {
  return `export the keys now ('capsule keys export --out FILE'): a bundle exported before lacks master ${kid}, and backups taken from now on need it`;
}

/**
 * A new master key and every protected value re-encrypted with it. Nothing is changed until
 * every node and config file has been read and every value decrypts. The new key is staged
 * first (a running instance then encrypts with it and decrypts with both), values are rewritten
 * one node or file at a time, and only when none is left under an older key is the old master
 * retired to keys/retired-master/ (it still decrypts backups taken before) and replaced. Killed
 * at any point, the home starts and decrypts everything; a rerun finishes the rotation.
 */
export async function rotateMasterKey(
  locations: KeyLocations,
  repo: Repository,
  options: { bumpCounters?: readonly string[]; onProgress?: RewriteProgress; now?: number } = {},
): Promise<MasterRotation> {
  requireFileStorage(locations, 'key rotation');
  const paths = keyPaths(locations.keysDir);
  const keyring = readMasterKeyring(locations);
  await preflightMasterRotation(locations, repo, keyring);
  const old = keyring.current;
  let next = keyring.staged;
  if (!next) {
    next = generateKey();
    writeKeyFile(paths.stagedMaster, next);
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
      const left = (await findProtectedValues(repo, locations.configDir)).filter((value) => isOlder(value.kid));
      if (left.length === 0) break;
      if (pass === 4) {
        throw new CapsuleError('CHECK_FAILED', `${left.length} values are still encrypted with an older master key; the new key stays staged; run the rotation again`);
      }
    }
    failpoint('rotate-master:rewritten');
    // Kept before it is replaced: a crash in between leaves it in both places, never in none.
    writeRetiredMasterKey(locations.keysDir, old, options.now);
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
        ? `finished an interrupted rotation; master ${newKid} is current; ${exportAdvice(newKid)}`
        : `master ${newKid} replaces ${oldKid}; ${reencrypted} protected values re-encrypted; ${oldKid} is retired to ${join(paths.retiredMasterDir, oldKid)} and still decrypts backups taken before${foreign ? `; ${foreign} values under keys this home does not hold were left alone (see 'capsule keys doctor')` : ''}\n${exportAdvice(newKid)}`,
  };
}
