import { CapsuleError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { failpoint } from '../support/failpoint.js';
import { keyPaths, readKeyFile, readMarker, removeFile, writeKeyFile, writeMarker, writeRetiredMasterKey, type KeyLocations, type KeyStorageMode } from './key-files.js';
import { keyId } from './keys.js';
import { KEY_NODE, readRepositoryKeys, removeRepositoryKeys, writeRepositoryKeys } from './repository-keys.js';
import { isSharedRepository } from './shared-repository.js';
import { withKeyOperationLock } from './key-operation-lock.js';

/** Bumped by every key operation, so a running instance on the same home reloads its keys. */
export const KEYS_COUNTER = 'keys';

export interface MigrateOptions {
  /**
   * On a shared repository: copy `/etc/key` into this home and leave it there for the other
   * authors (a plain migrate to the file system is refused there, since it removes `/etc/key`).
   */
  readonly cluster?: boolean;
  /** Check everything and say what would change; write nothing. */
  readonly dryRun?: boolean;
}

export interface MigrateResult {
  readonly changed: boolean;
  readonly dryRun: boolean;
  readonly storage: KeyStorageMode;
  readonly master: string;
  readonly hmac: string;
  /** What the migration does (or, with dryRun, would do), in order. */
  readonly steps: readonly string[];
  readonly message: string;
}

/** One step of a migration: what it does, said before it is done (so --dry-run can list it). */
interface Step {
  readonly says: string;
  readonly run: () => void | Promise<void>;
}

function conflict(name: string, fileKey: Buffer, repositoryKey: Buffer): CapsuleError {
  return new CapsuleError(
    'KEY_CONFLICT',
    `keys/${name} (id ${keyId(fileKey)}) and ${KEY_NODE}/${name} (id ${keyId(repositoryKey)}) hold different keys; nothing was changed; run 'capsule keys doctor' to see which protected values use which key`,
  );
}

function sharedKeysRefused(): CapsuleError {
  return new CapsuleError(
    'KEY_CONFLICT',
    `this home's repository is on PostgreSQL, shared by every author that uses it, and the other authors read their keys from ${KEY_NODE}: moving the keys out of it would leave them unable to start; nothing was changed; keep the keys in ${KEY_NODE} (the cluster needs nothing else), or give this author a copy in keys/ with 'capsule keys migrate --cluster', which leaves ${KEY_NODE} in place for the others`,
  );
}

function nothingToDo(storage: KeyStorageMode, master: Buffer, hmac: Buffer, message: string, dryRun: boolean): MigrateResult {
  return { changed: false, dryRun, storage, master: keyId(master), hmac: keyId(hmac), steps: [], message };
}

async function runSteps(steps: readonly Step[]): Promise<void> {
  for (const step of steps) await step.run();
}

function finished(storage: KeyStorageMode, keys: { master: Buffer; hmac: Buffer }, steps: readonly Step[], dryRun: boolean, done: string): MigrateResult {
  const says = steps.map((step) => step.says);
  return {
    changed: !dryRun,
    dryRun,
    storage,
    master: keyId(keys.master),
    hmac: keyId(keys.hmac),
    steps: says,
    message: dryRun ? `dry run, nothing was changed; 'capsule keys migrate' would:\n${says.map((step) => `  - ${step}`).join('\n')}` : done,
  };
}

/**
 * Moves the keys between `/etc/key` and the file system in one verified step: write the
 * target, read it back and compare, switch `keys/storage`, then remove the source. Each step
 * leaves a home that starts; running it again finishes an interrupted run. On a shared
 * repository `/etc/key` is never removed: other authors read it.
 */
async function migrateKeysLocked(locations: KeyLocations, repo: Repository, to: KeyStorageMode, options: MigrateOptions): Promise<MigrateResult> {
  const dryRun = options.dryRun ?? false;
  const shared = isSharedRepository(repo);
  if (options.cluster && (!shared || to !== 'file')) {
    throw new CapsuleError(
      'INVALID_ARGUMENT',
      shared ? '--cluster goes with --to file (the default)' : "--cluster is for a repository shared by several authors (PostgreSQL); this home's repository is its own: leave out --cluster",
    );
  }
  const paths = keyPaths(locations.keysDir);
  const marker = readMarker(locations.keysDir);
  const fromRepository = await readRepositoryKeys(repo);
  const files = { master: readKeyFile(paths.master), hmac: readKeyFile(paths.hmac) };

  if (to === 'file') {
    if (!fromRepository.master && !fromRepository.hmac) {
      if (marker !== 'repository' && files.master && files.hmac) {
        if (marker === null && !dryRun) writeMarker(locations.keysDir, 'file');
        return nothingToDo('file', files.master, files.hmac, 'the keys are already on the file system; nothing to do', dryRun);
      }
      throw new CapsuleError('KEY_MISSING', `${KEY_NODE} holds no keys to migrate and keys/ has no complete set; restore them with 'capsule keys import'`);
    }
    const { master, hmac } = fromRepository;
    if (!master || !hmac) {
      throw new CapsuleError('KEY_MISSING', `${KEY_NODE} has only the ${master ? 'master' : 'hmac'} key; restore the other with 'capsule keys import'`);
    }
    if (files.master && !files.master.equals(master)) throw conflict('master', files.master, master);
    if (files.hmac && !files.hmac.equals(hmac)) throw conflict('hmac', files.hmac, hmac);
    if (shared && marker === 'file' && files.master && files.hmac) {
      return nothingToDo('file', master, hmac, `this author already reads its keys from keys/; ${KEY_NODE} keeps the same keys for the other authors of this shared repository; nothing to do`, dryRun);
    }
    if (shared && !options.cluster) throw sharedKeysRefused();

    const steps: Step[] = [
      {
        says: `write ${paths.master} and ${paths.hmac} (mode 0600) with the keys of ${KEY_NODE} (master ${keyId(master)}, hmac ${keyId(hmac)}) and read them back`,
        run() {
          // The retired masters kept in /etc/key go along: values under them must still decrypt here.
          for (const retired of fromRepository.retiredMaster ?? []) writeRetiredMasterKey(locations.keysDir, retired.key, retired.retiredAt || undefined);
          writeKeyFile(paths.hmac, hmac);
          writeKeyFile(paths.master, master);
          failpoint('migrate:files-written');
          const written = { master: readKeyFile(paths.master), hmac: readKeyFile(paths.hmac) };
          if (!written.master?.equals(master) || !written.hmac?.equals(hmac)) {
            throw new CapsuleError('KEY_INVALID', `the key files read back differ from ${KEY_NODE}; the disk may be failing; nothing was switched`);
          }
        },
      },
      {
        says: `switch ${paths.marker} from '${marker ?? 'nothing'}' to 'file'`,
        run() {
          writeMarker(locations.keysDir, 'file');
          failpoint('migrate:marker-switched');
        },
      },
      shared
        ? { says: `leave ${KEY_NODE} as it is (the other authors of this shared repository read it)`, run: () => repo.bumpCounter(KEYS_COUNTER).then(() => undefined) }
        : {
            says: `remove the keys from ${KEY_NODE}`,
            run: () =>
              repo.transaction(async (tx) => {
                await removeRepositoryKeys(tx);
                await tx.bumpCounter(KEYS_COUNTER);
              }),
          },
    ];
    if (!dryRun) await runSteps(steps);
    return finished(
      'file',
      { master, hmac },
      steps,
      dryRun,
      shared
        ? `copied the keys from ${KEY_NODE} to ${locations.keysDir} (master ${keyId(master)}, hmac ${keyId(hmac)}) and verified them; this author now reads keys/; ${KEY_NODE} stays in the repository for the other authors, who keep working as they are`
        : `moved the keys from ${KEY_NODE} to ${locations.keysDir} (master ${keyId(master)}, hmac ${keyId(hmac)}), verified, and removed them from the repository`,
    );
  }

  if (!files.master && !files.hmac) {
    if (marker === 'repository' && fromRepository.master && fromRepository.hmac) {
      return nothingToDo('repository', fromRepository.master, fromRepository.hmac, 'the keys are already in the repository; nothing to do', dryRun);
    }
    throw new CapsuleError('KEY_MISSING', `keys/ holds no keys to migrate; restore them with 'capsule keys import'`);
  }
  const { master, hmac } = files;
  if (!master || !hmac) throw new CapsuleError('KEY_MISSING', `keys/ has only the ${master ? 'master' : 'hmac'} key; restore the other with 'capsule keys import'`);
  if (fromRepository.master && !fromRepository.master.equals(master)) throw conflict('master', master, fromRepository.master);
  if (fromRepository.hmac && !fromRepository.hmac.equals(hmac)) throw conflict('hmac', hmac, fromRepository.hmac);
  const alreadyThere = fromRepository.master !== undefined && fromRepository.hmac !== undefined;
  const steps: Step[] = [
    {
      says: alreadyThere
        ? `check that ${KEY_NODE} holds the same keys (master ${keyId(master)}, hmac ${keyId(hmac)})`
        : `write the keys of keys/ (master ${keyId(master)}, hmac ${keyId(hmac)}) to ${KEY_NODE} and read them back`,
      async run() {
        if (!alreadyThere) await repo.transaction((tx) => writeRepositoryKeys(tx, { master, hmac }), { durable: true });
        failpoint('migrate:repository-written');
        const written = await readRepositoryKeys(repo);
        if (!written.master?.equals(master) || !written.hmac?.equals(hmac)) {
          throw new CapsuleError('KEY_INVALID', `${KEY_NODE} read back differs from the key files; nothing was switched`);
        }
      },
    },
    {
      says: `switch ${paths.marker} from '${marker ?? 'nothing'}' to 'repository'`,
      run() {
        writeMarker(locations.keysDir, 'repository');
        failpoint('migrate:marker-switched');
      },
    },
    {
      says: `remove ${paths.master} and ${paths.hmac}`,
      async run() {
        removeFile(paths.master);
        removeFile(paths.hmac);
        await repo.bumpCounter(KEYS_COUNTER);
      },
    },
  ];
  if (!dryRun) await runSteps(steps);
  return finished(
    'repository',
    { master, hmac },
    steps,
    dryRun,
    `moved the keys from ${locations.keysDir} to ${KEY_NODE} (master ${keyId(master)}, hmac ${keyId(hmac)}), verified, and removed the files`,
  );
}

/** See `migrateKeysLocked`; a real run holds the home's key-operation lock. */
export async function migrateKeys(locations: KeyLocations, repo: Repository, to: KeyStorageMode, options: MigrateOptions = {}): Promise<MigrateResult> {
  if (options.dryRun) return migrateKeysLocked(locations, repo, to, options);
  return withKeyOperationLock(locations, 'keys migrate', () => migrateKeysLocked(locations, repo, to, options));
}
