import { closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Clock } from '../clock.js';
import { bundleKeysOf, createBundle, findProtectedValues, keyId, loadKeySet, readMarker, type KeySet } from '../crypto/index.js';
import { CapsuleError } from '../errors.js';
import { homeHasRepository, readRepositoryLocation, type HomeLayout } from '../instance/home.js';
import { backupSqliteDatabase, openSqliteRepository, type Repository } from '../repository/index.js';
import { syncFolder } from '../support/atomic-file.js';
import { failpoint } from '../support/failpoint.js';
import { CONFIG_TYPE } from '../config/config-admin.js';
import { CONTENT_TYPE } from '../content/content-service.js';
import { GROUP_TYPE, USER_TYPE } from '../users/types.js';
import {
  BACKUP_FORMAT,
  describeEntry,
  isAllowedEntryName,
  KEY_BUNDLE_ENTRY,
  REPOSITORY_ENTRY,
  STORAGE_MARKER_ENTRY,
  writeArchive,
  type BackupCounts,
  type BackupManifest,
  type EntrySource,
} from './archive.js';
import { placeWithoutReplacing } from './place-file.js';
import { makeWorkFolder, removeStaleWorkFolders } from './work-folder.js';

export type BackupPhase = 'snapshot' | 'write';

export interface CreateBackupOptions {
  readonly home: HomeLayout;
  /** The backup file to write; it must not exist, and its folder must. */
  readonly out: string;
  /** Encrypts the key bundle inside the backup (the `keys export` rules are the caller's). */
  readonly passphrase: string;
  readonly clock: Clock;
  readonly capsuleVersion: string;
  readonly onProgress?: (phase: BackupPhase, done: number, total: number) => void;
}

export interface BackupKeyIds {
  readonly storage: 'file' | 'repository';
  readonly master: string;
  readonly hmac: string;
  readonly retiredHmac: readonly string[];
}

export interface BackupResult {
  readonly file: string;
  readonly bytes: number;
  readonly counts: BackupCounts;
  readonly keys: BackupKeyIds;
  /** The home's files in the backup (the key bundle stands for keys/). */
  readonly files: readonly string[];
  /** What the backup leaves out that the operator may want to know about. */
  readonly warnings: readonly string[];
}

/** loadKeySet for file storage never touches the repository; this one says so if it did. */
const NO_REPOSITORY = new Proxy({} as Repository, {
  get() {
    throw new CapsuleError('INTERNAL', 'file key storage read the repository');
  },
});

export function checkOutputFile(out: string): void {
  let link: ReturnType<typeof lstatSync> | undefined;
  try {
    link = lstatSync(out);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && (error as NodeJS.ErrnoException).code !== 'ENOTDIR') throw error;
  }
  if (link?.isSymbolicLink() && !existsSync(out)) {
    throw new CapsuleError('INVALID_ARGUMENT', `${out} is a symbolic link to a missing file; choose another name (a backup never writes through a link)`);
  }
  if (link) throw new CapsuleError('INVALID_ARGUMENT', `${out} exists; choose another name (a backup never overwrites a file)`);
  const folder = dirname(resolve(out));
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new CapsuleError('INVALID_ARGUMENT', `the folder ${folder} does not exist; create it first`);
  }
}

function checkSourceHome(home: HomeLayout): string {
  if (!existsSync(home.root) || !homeHasRepository(home)) {
    throw new CapsuleError('HOME_UNREADABLE', `no Capsule home with a repository at ${home.root}; pass --home with the home to back up`);
  }
  const location = readRepositoryLocation(home);
  if (location.backend === 'postgres') {
    throw new CapsuleError(
      'INVALID_ARGUMENT',
      `this home's repository is on PostgreSQL (${location.url}); back the database up with pg_dump (pg_dump --format=custom) and the keys with 'capsule keys export' (see "Backup and restore" in the README)`,
    );
  }
  if (readMarker(home.keysDir) === null) {
    throw new CapsuleError('KEY_MISSING', `${home.root} has no keys/storage marker: there are no keys to back up; start the instance once or import keys first`);
  }
  return location.file;
}

function refuseStagedMaster(keys: KeySet): void {
  if (keys.stagedMaster) {
    throw new CapsuleError(
      'INVALID_ARGUMENT',
      "a master key rotation is in progress (keys/staged/master); finish it with 'capsule keys rotate --master', then back up; nothing was written",
    );
  }
}

/** Where a link in config/ must never lead: reading there blocks, never ends, or exposes the system. */
const SYSTEM_FOLDERS = ['/proc', '/dev', '/sys'];

function isUnder(path: string, folder: string): boolean {
  return path === folder || path.startsWith(`${folder}${sep}`);
}

/** The entry name of a file the configuration loader reads, or why it cannot be in a backup. */
function configEntryName(name: string): { entry: string } | { reason: string } {
  const entry = `config/${name}`;
  if (isAllowedEntryName(entry)) return { entry };
  if (name.startsWith('.')) return { reason: 'a hidden file' };
  return { reason: 'its name has a character other than letters, digits and . _ @ ~ + = , -; rename it to back it up' };
}

/**
 * The configuration files the instance reads at start (`config/*.json`, as readConfigFiles reads
 * them, links followed), copied into `into`; what the backup leaves out is reported.
 */
function copyConfigFiles(configDir: string, into: string, warnings: string[]): EntrySource[] {
  if (!existsSync(configDir)) return [];
  const sources: EntrySource[] = [];
  for (const name of readdirSync(configDir).sort()) {
    const file = join(configDir, name);
    if (!name.endsWith('.json')) {
      warnings.push(`${file} is left out (Capsule reads only config/*.json)`);
      continue;
    }
    const named = configEntryName(name);
    if ('reason' in named) {
      warnings.push(`${file} is left out (${named.reason})`);
      continue;
    }
    let target: string;
    try {
      target = realpathSync(file);
    } catch {
      warnings.push(`${file} is left out (a link to a missing file)`);
      continue;
    }
    if (SYSTEM_FOLDERS.some((folder) => isUnder(target, folder))) {
      warnings.push(`${file} is left out (a link to ${target}, a system file)`);
      continue;
    }
    // A file linked into config/ (a mounted ConfigMap, say) is backed up as the file it names; it
    // is opened without following a new link and without waiting on a pipe, then checked.
    const fd = openSync(target, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) {
        warnings.push(`${file} is left out (not a regular file)`);
        continue;
      }
      mkdirSync(into, { recursive: true, mode: 0o700 });
      const copy = join(into, name);
      writeFileSync(copy, readFileSync(fd), { mode: 0o600 });
      sources.push({ name: named.entry, file: copy, mode: stat.mode & 0o777 });
    } finally {
      closeSync(fd);
    }
  }
  return sources;
}

async function countsOf(repo: Repository, configDir: string): Promise<BackupCounts> {
  const [info, users, groups, content, configurations, protectedValues] = await Promise.all([
    repo.info(),
    repo.countByType(USER_TYPE),
    repo.countByType(GROUP_TYPE),
    repo.countByType(CONTENT_TYPE),
    repo.countByType(CONFIG_TYPE),
    findProtectedValues(repo, configDir),
  ]);
  return { nodes: info.nodeCount ?? 0, users, groups, content, configurations, protectedValues: protectedValues.length };
}

/**
 * Takes a consistent backup of a home, running or stopped: the repository through SQLite's
 * online backup API, the keys in a passphrase-encrypted bundle, the storage marker and the
 * configuration files, in one file (mode 0600) that appears only when complete. Never in it:
 * initial-admin-password, instance.lock, audit.log, keys/backup-*.
 */
export async function createBackup(options: CreateBackupOptions): Promise<BackupResult> {
  const { home, out, passphrase, clock } = options;
  checkOutputFile(out);
  const sourceDatabase = checkSourceHome(home);
  const warnings: string[] = [];
  const fileStorage = readMarker(home.keysDir) === 'file';
  const keysBefore = fileStorage ? await loadKeySet(home.keysDir, NO_REPOSITORY) : null;
  if (keysBefore) refuseStagedMaster(keysBefore);

  // Everything in progress stays in one hidden folder beside the output (same file system, so
  // the final step is a link); a crash leaves that folder, never a partial output file, and the
  // next backup to the same name removes it.
  const workPrefix = `.${basename(resolve(out))}.`;
  removeStaleWorkFolders(dirname(resolve(out)), workPrefix);
  const work = makeWorkFolder(dirname(resolve(out)), workPrefix);
  try {
    const snapshot = join(work, 'repository.sqlite');
    closeSync(openSync(snapshot, 'wx', 0o600));
    await backupSqliteDatabase(sourceDatabase, snapshot, (done, total) => options.onProgress?.('snapshot', done, total));
    failpoint('backup:snapshot-taken');
    const configSources = copyConfigFiles(home.configDir, join(work, 'config'), warnings);

    const repo = openSqliteRepository({ file: snapshot, clock });
    let keys: KeySet;
    let counts: BackupCounts;
    let schemaVersion: number;
    try {
      // Keys in the repository (/etc/key) come from the snapshot itself, so they match its values.
      keys = await loadKeySet(home.keysDir, repo);
      counts = await countsOf(repo, join(work, 'config'));
      schemaVersion = (await repo.info()).schemaVersion;
    } finally {
      await repo.close();
    }
    refuseStagedMaster(keys);
    if (keysBefore && (!keysBefore.master.equals(keys.master) || !keysBefore.hmac.equals(keys.hmac))) {
      // A rotation finished between the two reads: the snapshot's values may use either key.
      throw new CapsuleError('INVALID_ARGUMENT', 'the keys changed while the backup ran (a key rotation?); nothing was written; run the backup again');
    }
    if (keys.stagedHmac) warnings.push('the staged hmac key (keys/staged/hmac) is not in the backup: it does not sign yet; stage it again after a restore if the farm still needs it');

    const sources: EntrySource[] = [
      { name: KEY_BUNDLE_ENTRY, bytes: Buffer.from(createBundle(bundleKeysOf(keys), passphrase, clock.now()), 'utf8'), mode: 0o600 },
      // The marker the keys were loaded by (as keys/storage is written), not a second read of it.
      { name: STORAGE_MARKER_ENTRY, bytes: Buffer.from(keys.storage, 'utf8'), mode: 0o600 },
      { name: REPOSITORY_ENTRY, file: snapshot, mode: 0o600 },
      ...configSources,
    ];
    const entries = [];
    for (const source of sources) entries.push(await describeEntry(source));
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      created: new Date(clock.now()).toISOString(),
      source: home.root,
      capsuleVersion: options.capsuleVersion,
      repository: { backend: 'sqlite', schemaVersion },
      keyStorage: keys.storage,
      counts,
      entries,
    };
    const total = entries.reduce((sum, entry) => sum + entry.size, 0);
    const archive = join(work, 'backup');
    const handle = await open(archive, 'wx', 0o600);
    try {
      await writeArchive(handle, manifest, keys.master, sources, (done) => options.onProgress?.('write', done, total));
    } finally {
      await handle.close();
    }
    failpoint('backup:archive-written');
    try {
      placeWithoutReplacing(archive, out); // unlike a rename, never replaces a file that appeared meanwhile
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') checkOutputFile(out);
      throw error;
    }
    syncFolder(dirname(resolve(out)));
    return {
      file: out,
      bytes: statSync(out).size,
      counts,
      keys: { storage: keys.storage, master: keyId(keys.master), hmac: keyId(keys.hmac), retiredHmac: keys.retiredHmac.map((retired) => retired.kid) },
      files: entries.filter((entry) => entry.name !== KEY_BUNDLE_ENTRY).map((entry) => entry.name),
      warnings,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
