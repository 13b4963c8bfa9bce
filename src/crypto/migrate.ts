import { CapsuleError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { failpoint } from '../support/failpoint.js';
import { keyPaths, readKeyFile, readMarker, removeFile, writeKeyFile, writeMarker, type KeyLocations, type KeyStorageMode } from './key-files.js';
import { keyId } from './keys.js';
import { KEY_NODE, readRepositoryKeys, removeRepositoryKeys, writeRepositoryKeys } from './repository-keys.js';

/** Bumped by every key operation, so a running instance on the same home reloads its keys. */
export const KEYS_COUNTER = 'keys';

export interface MigrateResult {
  readonly changed: boolean;
  readonly storage: KeyStorageMode;
  readonly master: string;
  readonly hmac: string;
  readonly message: string;
}

function conflict(name: string, fileKey: Buffer, repositoryKey: Buffer): CapsuleError {
  return new CapsuleError(
    'KEY_CONFLICT',
    `keys/${name} (id ${keyId(fileKey)}) and ${KEY_NODE}/${name} (id ${keyId(repositoryKey)}) hold different keys; nothing was changed; run 'capsule keys doctor' to see which protected values use which key`,
  );
}

/**
 * Moves the keys between `/etc/key` and the file system in one verified step: write the
 * target, read it back and compare, switch `keys/storage`, then remove the source. Each step
 * leaves a home that starts; running it again finishes an interrupted run.
 */
export async function migrateKeys(locations: KeyLocations, repo: Repository, to: KeyStorageMode): Promise<MigrateResult> {
  const paths = keyPaths(locations.keysDir);
  const marker = readMarker(locations.keysDir);
  const fromRepository = await readRepositoryKeys(repo);
  const files = { master: readKeyFile(paths.master), hmac: readKeyFile(paths.hmac) };

  if (to === 'file') {
    if (!fromRepository.master && !fromRepository.hmac) {
      if (marker !== 'repository' && files.master && files.hmac) {
        if (marker === null) writeMarker(locations.keysDir, 'file');
        return { changed: false, storage: 'file', master: keyId(files.master), hmac: keyId(files.hmac), message: 'the keys are already on the file system; nothing to do' };
      }
      throw new CapsuleError('KEY_MISSING', `${KEY_NODE} holds no keys to migrate and keys/ has no complete set; restore them with 'capsule keys import'`);
    }
    const { master, hmac } = fromRepository;
    if (!master || !hmac) {
      throw new CapsuleError('KEY_MISSING', `${KEY_NODE} has only the ${master ? 'master' : 'hmac'} key; restore the other with 'capsule keys import'`);
    }
    if (files.master && !files.master.equals(master)) throw conflict('master', files.master, master);
    if (files.hmac && !files.hmac.equals(hmac)) throw conflict('hmac', files.hmac, hmac);
    writeKeyFile(paths.hmac, hmac);
    writeKeyFile(paths.master, master);
    failpoint('migrate:files-written');
    const written = { master: readKeyFile(paths.master), hmac: readKeyFile(paths.hmac) };
    if (!written.master?.equals(master) || !written.hmac?.equals(hmac)) {
      throw new CapsuleError('KEY_INVALID', `the key files read back differ from ${KEY_NODE}; the disk may be failing; nothing was switched`);
    }
    writeMarker(locations.keysDir, 'file');
    failpoint('migrate:marker-switched');
    await repo.transaction(async (tx) => {
      await removeRepositoryKeys(tx);
      await tx.bumpCounter(KEYS_COUNTER);
    });
    return {
      changed: true,
      storage: 'file',
      master: keyId(master),
      hmac: keyId(hmac),
      message: `moved the keys from ${KEY_NODE} to ${locations.keysDir} (master ${keyId(master)}, hmac ${keyId(hmac)}), verified, and removed them from the repository`,
    };
  }

  if (!files.master && !files.hmac) {
    if (marker === 'repository' && fromRepository.master && fromRepository.hmac) {
      return { changed: false, storage: 'repository', master: keyId(fromRepository.master), hmac: keyId(fromRepository.hmac), message: 'the keys are already in the repository; nothing to do' };
    }
    throw new CapsuleError('KEY_MISSING', `keys/ holds no keys to migrate; restore them with 'capsule keys import'`);
  }
  const { master, hmac } = files;
  if (!master || !hmac) throw new CapsuleError('KEY_MISSING', `keys/ has only the ${master ? 'master' : 'hmac'} key; restore the other with 'capsule keys import'`);
  if (fromRepository.master && !fromRepository.master.equals(master)) throw conflict('master', master, fromRepository.master);
  if (fromRepository.hmac && !fromRepository.hmac.equals(hmac)) throw conflict('hmac', hmac, fromRepository.hmac);
  await repo.transaction((tx) => writeRepositoryKeys(tx, { master, hmac }), { durable: true });
  failpoint('migrate:repository-written');
  const written = await readRepositoryKeys(repo);
  if (!written.master?.equals(master) || !written.hmac?.equals(hmac)) {
    throw new CapsuleError('KEY_INVALID', `${KEY_NODE} read back differs from the key files; nothing was switched`);
  }
  writeMarker(locations.keysDir, 'repository');
  failpoint('migrate:marker-switched');
  removeFile(paths.master);
  removeFile(paths.hmac);
  await repo.bumpCounter(KEYS_COUNTER);
  return {
    changed: true,
    storage: 'repository',
    master: keyId(master),
    hmac: keyId(hmac),
    message: `moved the keys from ${locations.keysDir} to ${KEY_NODE} (master ${keyId(master)}, hmac ${keyId(hmac)}), verified, and removed the files`,
  };
}
