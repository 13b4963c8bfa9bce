import { CapsuleError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { keyPaths, readKeyFile, readMarker, readRetiredKeys, scanRetiredMasterKeys, type DamagedKeyFile, type KeyStorageMode, type RetiredKey } from './key-files.js';
import { KEY_NODE, readRepositoryKeys } from './repository-keys.js';

/** Everything an instance holds: what signs and encrypts now, and what is still accepted. */
export interface KeySet {
  readonly storage: KeyStorageMode;
  readonly master: Buffer;
  /** A master key rotation in progress: values may already be encrypted with it. */
  readonly stagedMaster: Buffer | null;
  /**
   * Master keys replaced by rotations: they decrypt (never encrypt) values written before, and
   * backups of the repository taken before, until an operator removes them: files, and on a
   * home whose keys/storage says 'repository' also those kept in /etc/key (an import made them).
   */
  readonly retiredMaster?: readonly RetiredKey[];
  /** Retired master key files that were skipped: not a key, or not the key their name says. */
  readonly damagedRetiredMaster?: readonly DamagedKeyFile[];
  readonly hmac: Buffer;
  /** Verifies, never signs (a farm stages a key everywhere before any instance signs with it). */
  readonly stagedHmac: Buffer | null;
  /** Verify until the tokens they signed have expired. */
  readonly retiredHmac: readonly RetiredKey[];
}

/** Reads the keys where `keys/storage` says they are; throws naming what is missing. */
export async function loadKeySet(keysDir: string, repo: Repository): Promise<KeySet> {
  const storage = readMarker(keysDir);
  const paths = keyPaths(keysDir);
  if (storage === null) {
    throw new CapsuleError('KEY_MISSING', `${paths.marker} is missing: this home has no keys yet; start the instance once or import keys ('capsule keys import')`);
  }
  let master: Buffer | undefined;
  let hmac: Buffer | undefined;
  let repositoryRetired: readonly RetiredKey[] = [];
  if (storage === 'file') {
    master = readKeyFile(paths.master) ?? undefined;
    hmac = readKeyFile(paths.hmac) ?? undefined;
  } else {
    let retiredMaster: readonly RetiredKey[] | undefined;
    ({ master, hmac, retiredMaster } = await readRepositoryKeys(repo));
    repositoryRetired = retiredMaster ?? [];
  }
  const where = (name: string) => (storage === 'file' ? (name === 'master' ? paths.master : paths.hmac) : `${KEY_NODE}/${name}`);
  for (const [name, key] of [['master', master], ['hmac', hmac]] as const) {
    if (!key) {
      throw new CapsuleError(
        'KEY_MISSING',
        `the ${name} key (${where(name)}) is missing although keys/storage says '${storage}'; restore it with 'capsule keys import --in BUNDLE'`,
      );
    }
  }
  const retiredMaster = scanRetiredMasterKeys(keysDir);
  // A home on /etc/key also holds the retired masters kept there (an import on another author of a shared repository).
  const ownKids = new Set(retiredMaster.keys.map((key) => key.kid));
  const retiredKeys = [...retiredMaster.keys, ...repositoryRetired.filter((key) => !ownKids.has(key.kid))];
  return {
    storage,
    master: master!,
    stagedMaster: readKeyFile(paths.stagedMaster),
    retiredMaster: retiredKeys,
    damagedRetiredMaster: retiredMaster.damaged,
    hmac: hmac!,
    stagedHmac: readKeyFile(paths.stagedHmac),
    retiredHmac: readRetiredKeys(keysDir),
  };
}
