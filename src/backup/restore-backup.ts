import { existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Clock } from '../clock.js';
import { importKeys, keyId, openBundle, readBundleHeader, type BundleKeys } from '../crypto/index.js';
import { CapsuleError } from '../errors.js';
import type { HomeLayout } from '../instance/home.js';
import { openSqliteRepository } from '../repository/index.js';
import { syncFolder } from '../support/atomic-file.js';
import { failpoint } from '../support/failpoint.js';
import {
  KEY_BUNDLE_ENTRY,
  openArchive,
  readEntry,
  readSmallEntry,
  REPOSITORY_ENTRY,
  verifyManifest,
  type BackupCounts,
  type OpenedArchive,
} from './archive.js';
import type { BackupKeyIds } from './create-backup.js';
import { isStaleWorkFolder, isWorkFolderName, makeWorkFolder, removeStaleWorkFolders } from './work-folder.js';

/** The work folder inside an existing empty home (on its file system, whatever is mounted there). */
const INSIDE_PREFIX = '.restore-';
/** The work folder beside a home that does not exist yet. */
function besidePrefix(root: string): string {
  return `.${basename(root)}.restore-`;
}

export interface RestoreOptions {
  /** The backup file. */
  readonly file: string;
  /** The home to create: a folder that does not exist yet, or an empty one. */
  readonly home: HomeLayout;
  /** Asked only once the file's framing is known to be sound (as `keys import` does). */
  readonly passphrase: () => Promise<string>;
  readonly clock: Clock;
  /** Check everything and say what would be restored; write nothing. */
  readonly dryRun?: boolean;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface RestoreResult {
  readonly home: string;
  readonly dryRun: boolean;
  /** When and from which home the backup was taken. */
  readonly created: string;
  readonly source: string;
  readonly capsuleVersion: string;
  readonly counts: BackupCounts;
  readonly keys: BackupKeyIds;
  readonly files: ReadonlyArray<{ readonly name: string; readonly size: number }>;
}

function notEmpty(root: string, entries: string[]): CapsuleError {
  return new CapsuleError(
    'INVALID_ARGUMENT',
    `${root} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, e.g. ${entries.sort()[0]}); restore into a new or empty folder; nothing was changed`,
  );
}

/** What is in an existing home folder, but the work folders crashed restores left in it. */
function entriesOf(folder: string): string[] {
  return readdirSync(folder).filter((name) => !isStaleWorkFolder(folder, name, INSIDE_PREFIX));
}

/** A restore makes a new home and never mixes a backup into an existing one. */
export function checkRestoreTarget(home: HomeLayout): void {
  if (existsSync(home.root)) {
    if (!statSync(home.root).isDirectory()) throw new CapsuleError('INVALID_ARGUMENT', `${home.root} is not a folder; restore into a new or empty folder`);
    const entries = entriesOf(home.root);
    if (entries.length > 0) throw notEmpty(home.root, entries);
    return;
  }
  if (lstatSync(home.root, { throwIfNoEntry: false })?.isSymbolicLink()) {
    throw new CapsuleError('INVALID_ARGUMENT', `${home.root} is a symbolic link to a missing folder; create the folder it names, or restore into another`);
  }
  const parent = dirname(home.root);
  if (!existsSync(parent) || !statSync(parent).isDirectory()) {
    throw new CapsuleError('INVALID_ARGUMENT', `the folder ${parent} does not exist; create it first (a restore makes the home, not the folders above it)`);
  }
}

function keyIdsOf(keys: BundleKeys, storage: 'file' | 'repository'): BackupKeyIds {
  return { storage, master: keyId(keys.master), hmac: keyId(keys.hmac), retiredHmac: keys.retiredHmac.map((retired) => keyId(retired.key)) };
}

/** Opens the key bundle with the passphrase and checks the manifest with its master key. */
async function unlock(archive: OpenedArchive, passphrase: () => Promise<string>): Promise<BundleKeys> {
  const text = (await readSmallEntry(archive, KEY_BUNDLE_ENTRY)).toString('utf8');
  readBundleHeader(text); // a damaged bundle is refused before asking for a passphrase
  const { keys } = openBundle(text, await passphrase());
  verifyManifest(archive, keys.master);
  return keys;
}

async function writeEntryFile(archive: OpenedArchive, name: string, into: string, onBytes: (count: number) => void): Promise<void> {
  const entry = archive.manifest.entries.find((candidate) => candidate.name === name)!;
  const target = join(into, ...name.split('/'));
  mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  const handle = await open(target, 'wx', entry.mode);
  try {
    await readEntry(archive, entry, async (chunk) => void (await handle.write(chunk)), onBytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Restores a backup into a new home: every entry is checked against the manifest while it is
 * written into a hidden work folder, the keys are installed there from the bundle, and only then
 * is it put in place. A wrong passphrase, a damaged file or a crash leaves no home behind (at
 * most the work folder, after a crash, which the next restore of that home removes).
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const { home, clock } = options;
  checkRestoreTarget(home);
  const archive = await openArchive(options.file);
  try {
    const keys = await unlock(archive, options.passphrase);
    const { manifest } = archive;
    const result: RestoreResult = {
      home: home.root,
      dryRun: options.dryRun === true,
      created: manifest.created,
      source: manifest.source,
      capsuleVersion: manifest.capsuleVersion,
      counts: manifest.counts,
      keys: keyIdsOf(keys, manifest.keyStorage),
      files: manifest.entries.filter((entry) => entry.name !== KEY_BUNDLE_ENTRY).map(({ name, size }) => ({ name, size })),
    };
    const restored = manifest.entries.filter((entry) => entry.name !== KEY_BUNDLE_ENTRY);
    const total = restored.reduce((sum, entry) => sum + entry.size, 0);
    let done = 0;
    const onBytes = (count: number) => {
      done += count;
      options.onProgress?.(done, total);
    };
    if (options.dryRun) {
      for (const entry of restored) await readEntry(archive, entry, undefined, onBytes);
      return result;
    }

    const existing = existsSync(home.root) ? realpathSync(home.root) : null;
    const workIn = existing ?? dirname(home.root);
    const prefix = existing ? INSIDE_PREFIX : besidePrefix(home.root);
    removeStaleWorkFolders(workIn, prefix);
    const work = makeWorkFolder(workIn, prefix);
    try {
      const assembled = join(work, 'home');
      mkdirSync(assembled, { mode: 0o700 });
      for (const entry of restored) await writeEntryFile(archive, entry.name, assembled, onBytes);
      const staged = { root: assembled, keysDir: join(assembled, 'keys'), configDir: join(assembled, 'config') };
      const repo = openSqliteRepository({ file: join(assembled, ...REPOSITORY_ENTRY.split('/')), clock });
      try {
        await importKeys(staged, repo, keys, { now: clock.now() });
      } finally {
        await repo.close();
      }
      failpoint('restore:home-staged');
      if (existing) moveChildrenInto(assembled, existing);
      else {
        checkRestoreTarget(home); // what appeared meanwhile is not replaced (and rename refuses a non-empty folder)
        renameSync(assembled, home.root);
        syncFolder(dirname(home.root));
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return result;
  } finally {
    await archive.handle.close();
  }
}

/**
 * Fills an existing empty home (a mount point, a link's target, a folder prepared with its owner
 * and mode) from `assembled`, on the same file system, keeping the folder itself. The repository
 * goes last, so a home is not one until everything else is in it.
 */
function moveChildrenInto(assembled: string, home: string): void {
  // Another restore's work folder does not count: of two restores into one folder, the first to
  // finish fills it and the other is refused when it finishes.
  const entries = readdirSync(home).filter((name) => !isWorkFolderName(name, INSIDE_PREFIX));
  if (entries.length > 0) throw notEmpty(home, entries);
  const children = readdirSync(assembled).sort((a, b) => Number(a === 'repository') - Number(b === 'repository'));
  const moved: string[] = [];
  try {
    for (const child of children) {
      renameSync(join(assembled, child), join(home, child));
      moved.push(child);
    }
  } catch (error) {
    for (const child of moved) renameSync(join(home, child), join(assembled, child));
    throw error;
  }
  syncFolder(home);
}
