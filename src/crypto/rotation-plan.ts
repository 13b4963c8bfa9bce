import { join } from 'node:path';
import type { Repository } from '../repository/index.js';
import { requireFileStorage, requireKeyFile } from './file-storage-guards.js';
import { keyPaths, readKeyFile, readRetiredKeys, type KeyLocations } from './key-files.js';
import { keyId } from './keys.js';
import { checkBeforeMasterRotation, placeOf, readMasterKeyring } from './master-keyring.js';
import { refuseRotationOnSharedRepository } from './shared-repository.js';

/* What `keys rotate --dry-run` prints: the checks and counts of a rotation, and no change. */

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
export function planHmacRotation(locations: KeyLocations, repo: Repository, options: { keepPrevious?: boolean } = {}): HmacRotationPlan {
  refuseRotationOnSharedRepository(repo, 'keys rotate --hmac');
  requireFileStorage(locations, 'key rotation');
  const paths = keyPaths(locations.keysDir);
  const keepPrevious = options.keepPrevious ?? true;
  const currentKid = keyId(requireKeyFile(paths.hmac));
  const staged = readKeyFile(paths.stagedHmac);
  const stagedKid = staged ? keyId(staged) : null;
  const retired = readRetiredKeys(locations.keysDir).map((key) => key.kid);
  const discarded = keepPrevious ? [] : [currentKid, ...retired.filter((kid) => kid !== currentKid)];
  // The staged file is written (unless one is there) and removed at the end: listed once.
  const files = [
    paths.stagedHmac,
    ...(keepPrevious ? [join(paths.retiredDir, currentKid)] : retired.map((kid) => join(paths.retiredDir, kid))),
    paths.hmac,
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

/** What `rotateMasterKey` would do, changing nothing; refuses, as the rotation would, what it could not read. */
export async function planMasterRotation(locations: KeyLocations, repo: Repository): Promise<MasterRotationPlan> {
  refuseRotationOnSharedRepository(repo, 'keys rotate --master');
  requireFileStorage(locations, 'key rotation');
  const paths = keyPaths(locations.keysDir);
  const keyring = readMasterKeyring(locations);
  const values = await checkBeforeMasterRotation(locations, repo, keyring);
  const previous = keyId(keyring.current);
  const staged = keyring.staged ? keyId(keyring.staged) : null;
  const finishing = staged === previous;
  // A rerun after the new key was promoted only removes the staged copy.
  const toReencrypt = finishing ? [] : values.filter((value) => value.reference === undefined && keyring.keys.has(value.kid) && value.kid !== staged);
  const reencrypt: Record<string, number> = {};
  for (const value of toReencrypt) reencrypt[value.kid] = (reencrypt[value.kid] ?? 0) + 1;
  const places = [...new Set(toReencrypt.map(placeOf))];
  const foreign = values.filter((value) => !keyring.keys.has(value.kid)).length;
  const retiredFile = join(paths.retiredMasterDir, previous);
  const files = finishing ? [paths.stagedMaster] : [paths.stagedMaster, retiredFile, paths.master];
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
