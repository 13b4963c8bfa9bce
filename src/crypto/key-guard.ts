import { existsSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CapsuleError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { ensureKeysDir, existingKeyFiles, keyFileModeProblem, keyPaths, readKeyFile, readMarker, writeKeyFile, writeMarker, type KeyLocations, type KeyStorageMode } from './key-files.js';
import { generateKey, keyId } from './keys.js';
import { findProtectedValues } from './protected-values.js';
import { hasRepositoryKeys, KEY_NODE, readRepositoryKeys, writeRepositoryKeys, type RepositoryKeys } from './repository-keys.js';

export interface PrepareKeysOptions {
  /** True when the repository was created by this start: the one case where keys are made. */
  readonly brandNewRepository: boolean;
  /**
   * True when other instances may share the repository (PostgreSQL): a new home then joins the
   * keys in /etc/key, and never makes keys of its own for a repository that already exists.
   */
  readonly sharedRepository?: boolean;
  /** Where a brand-new home keeps its keys (default 'file'). */
  readonly keyStorage?: KeyStorageMode;
}

export interface PreparedKeys {
  readonly generated: boolean;
  /** This new home now uses the keys that the shared repository keeps in /etc/key. */
  readonly joined: boolean;
  /** Things to tell the operator that do not stop the start. */
  readonly warnings: readonly string[];
}

function idsOf(keys: RepositoryKeys): string {
  return [keys.master && `master ${keyId(keys.master)}`, keys.hmac && `hmac ${keyId(keys.hmac)}`].filter(Boolean).join(', ');
}

function sameBytes(a: Buffer | null | undefined, b: Buffer | undefined): boolean {
  return a !== null && a !== undefined && b !== undefined && a.equals(b);
}

async function dependants(repo: Repository, locations: KeyLocations): Promise<string> {
  const count = (await findProtectedValues(repo, locations.configDir)).length;
  return count === 0 ? '' : ` (${count} protected value${count === 1 ? '' : 's'} depend on it)`;
}

/**
 * A home of an older installation: keys in /etc/key, no keys/storage. Start refuses it with this,
 * and keys doctor gives the same verdict.
 */
export function unmarkedRepositoryKeys(repositoryKeys: RepositoryKeys): string {
  return `${KEY_NODE} holds keys (${idsOf(repositoryKeys)}) but keys/storage does not point to them; starting now would make new keys and orphan every secret encrypted with them; run 'capsule keys migrate' to move them to the file system (or 'capsule keys migrate --to repository' to keep them there)`;
}

/** A warning per key file others can read: the instance starts (refusing would stop a farm for a mode), but says so. */
function keyFileModeWarnings(keysDir: string): string[] {
  return existingKeyFiles(keysDir).flatMap((file) => {
    const problem = keyFileModeProblem(file);
    return problem ? [`${file} has ${problem}`] : [];
  });
}

/**
 * The guard at start: new keys are made only for a brand-new home. A missing key, or keys in
 * `/etc/key` that `keys/storage` does not point to, stop the start before anything is written,
 * with the command that fixes it — never a silent new key that orphans encrypted secrets.
 */
export async function prepareKeys(locations: KeyLocations, repo: Repository, options: PrepareKeysOptions): Promise<PreparedKeys> {
  const paths = keyPaths(locations.keysDir);
  const marker = readMarker(locations.keysDir);
  const repositoryKeys = await readRepositoryKeys(repo);
  const master = readKeyFile(paths.master);
  const hmac = readKeyFile(paths.hmac);
  const warnings: string[] = [];

  if (options.keyStorage && marker && options.keyStorage !== marker) {
    throw new CapsuleError(
      'INVALID_ARGUMENT',
      `this home keeps its keys in the ${marker === 'file' ? 'file system' : 'repository'}; --key-storage applies only to a new home; use 'capsule keys migrate --to ${options.keyStorage}'`,
    );
  }

  if (marker === null) {
    const keysDirHasFiles = existsSync(locations.keysDir) && readdirSync(locations.keysDir).length > 0;
    if (options.sharedRepository && repositoryKeys.master && repositoryKeys.hmac && !master && !hmac && !keysDirHasFiles) {
      if (options.keyStorage === 'file') {
        throw new CapsuleError(
          'INVALID_ARGUMENT',
          `this repository keeps its keys in ${KEY_NODE} (${idsOf(repositoryKeys)}); a home joining it uses them: leave out --key-storage file`,
        );
      }
      writeMarker(locations.keysDir, 'repository');
      return { generated: false, joined: true, warnings };
    }
    if (hasRepositoryKeys(repositoryKeys)) throw new CapsuleError('KEY_MISSING', unmarkedRepositoryKeys(repositoryKeys));
    if (master && hmac) {
      writeMarker(locations.keysDir, 'file'); // key files placed by hand or by an older import
      return { generated: false, joined: false, warnings: [...warnings, ...keyFileModeWarnings(locations.keysDir)] };
    }
    if (options.sharedRepository && !options.brandNewRepository && !keysDirHasFiles) {
      throw new CapsuleError(
        'KEY_MISSING',
        `this new home is on a shared repository whose instances keep their keys in files; Capsule will not make keys of its own (nothing they signed or encrypted would work here): export them on one instance ('capsule keys export --out keys.bundle --home …'), import them here ('capsule keys import --in keys.bundle --home ${dirname(locations.keysDir)}') and start again`,
      );
    }
    // Even a new repository gets no new keys when anything hints at keys that existed:
    // key files (an interrupted import) or protected values (config files copied in).
    const protectedValues = await dependants(repo, locations);
    if (!options.brandNewRepository || keysDirHasFiles || protectedValues) {
      throw new CapsuleError(
        'KEY_MISSING',
        `this home has no usable keys${protectedValues}${keysDirHasFiles ? ' and keys/ holds an incomplete set' : ''}; restore them with 'capsule keys import --in BUNDLE' from a backup or another instance`,
      );
    }
    const keys = { master: generateKey(), hmac: generateKey() };
    const storage = options.keyStorage ?? 'file';
    ensureKeysDir(locations.keysDir);
    if (storage === 'file') {
      writeKeyFile(paths.master, keys.master);
      writeKeyFile(paths.hmac, keys.hmac);
    } else {
      await repo.transaction((tx) => writeRepositoryKeys(tx, keys), { durable: true });
    }
    writeMarker(locations.keysDir, storage);
    return { generated: true, joined: false, warnings };
  }

  if (marker === 'file') {
    for (const [name, key, file] of [['master', master, paths.master], ['hmac', hmac, paths.hmac]] as const) {
      if (!key) {
        throw new CapsuleError(
          'KEY_MISSING',
          // Protected values depend on the master key; the hmac key signs login tokens.
          `${file} is missing${name === 'master' ? await dependants(repo, locations) : ' (the login tokens it signed depend on it; protected values do not)'}; Capsule will not make a new ${name} key for an existing home; restore it with 'capsule keys import --in BUNDLE'`,
        );
      }
    }
    if (hasRepositoryKeys(repositoryKeys)) {
      if (sameBytes(master, repositoryKeys.master) && (repositoryKeys.hmac === undefined || sameBytes(hmac, repositoryKeys.hmac))) {
        // On a shared repository that copy is what the other authors (and new homes) read: it stays.
        if (!options.sharedRepository) warnings.push(`${KEY_NODE} still holds a copy of the keys; run 'capsule keys migrate' to finish moving them`);
      } else if (options.sharedRepository) {
        throw new CapsuleError(
          'KEY_CONFLICT',
          `${KEY_NODE} holds the keys the authors of this shared repository read (${idsOf(repositoryKeys)}), and this home's key files hold others (master ${keyId(master!)}, hmac ${keyId(hmac!)}): this author could not verify their tokens nor decrypt their values; nothing was changed; export the cluster's keys on another author ('capsule keys export --out keys.bundle --home …') and import them here ('capsule keys import --force --in keys.bundle --home ${dirname(locations.keysDir)}'; --force keeps a copy of these files)`,
        );
      } else {
        throw new CapsuleError(
          'KEY_CONFLICT',
          `${KEY_NODE} holds keys (${idsOf(repositoryKeys)}) that keys/storage does not point to (the files hold master ${keyId(master!)}, hmac ${keyId(hmac!)}); run 'capsule keys doctor' to see which values use which key, then 'capsule keys migrate'`,
        );
      }
    }
    return { generated: false, joined: false, warnings: [...warnings, ...keyFileModeWarnings(locations.keysDir)] };
  }

  if (!repositoryKeys.master || !repositoryKeys.hmac) {
    throw new CapsuleError(
      'KEY_MISSING',
      `keys/storage says 'repository' but ${KEY_NODE} lacks the ${repositoryKeys.master ? 'hmac' : 'master'} key${await dependants(repo, locations)}; restore it with 'capsule keys import --in BUNDLE'${
        options.sharedRepository
          ? ` (a bundle exported on another author of this repository: 'capsule keys export --out keys.bundle --home …'; the import writes ${KEY_NODE}, so every author reading it gets the keys back)`
          : ''
      }`,
    );
  }
  return { generated: false, joined: false, warnings };
}
