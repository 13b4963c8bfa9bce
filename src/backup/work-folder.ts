import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CapsuleError } from '../errors.js';

/** Who made a work folder, so a later run can tell a crashed run's folder from a running one's. */
const OWNER_FILE = 'owner';
/** What mkdtemp appends. */
const TEMP_TAIL = /^[A-Za-z0-9]{6}$/;

/**
 * A hidden folder (mode 0700) named `<prefix>XXXXXX` in `folder`, where a backup or a restore
 * assembles its result before one link or rename puts it in place. It records the process that
 * made it, so that `removeStaleWorkFolders` can remove it after a crash.
 */
export function makeWorkFolder(folder: string, prefix: string): string {
  try {
    const work = mkdtempSync(join(folder, prefix));
    writeFileSync(join(work, OWNER_FILE), `${process.pid} ${hostname()}\n`, { mode: 0o600 });
    return work;
  } catch (error) {
    throw new CapsuleError('INVALID_ARGUMENT', `cannot write in ${folder} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); choose a folder this user may write to`);
  }
}

function processIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** True for a name `makeWorkFolder(folder, prefix)` gives. */
export function isWorkFolderName(name: string, prefix: string): boolean {
  return name.startsWith(prefix) && TEMP_TAIL.test(name.slice(prefix.length));
}

/** True for a work folder with `prefix` in `folder` whose maker (on this machine) is gone. */
export function isStaleWorkFolder(folder: string, name: string, prefix: string): boolean {
  if (!isWorkFolderName(name, prefix)) return false;
  const path = join(folder, name);
  try {
    const stat = lstatSync(path);
    if (!stat.isDirectory() || (process.getuid && stat.uid !== process.getuid())) return false;
    if (!lstatSync(join(path, OWNER_FILE)).isFile()) return false;
    const [pid, host] = readFileSync(join(path, OWNER_FILE), 'utf8').trim().split(' ');
    // A folder made on another machine (a shared file system) is that machine's to judge.
    if (host !== hostname() || !/^[0-9]+$/.test(pid ?? '') || Number(pid) === process.pid) return false;
    return processIsGone(Number(pid));
  } catch {
    return false; // not one of ours, or still being made
  }
}

/**
 * Removes what a killed backup or restore left in `folder` (work folders with `prefix` whose
 * process is gone): they may hold key files in clear or a copy of the repository.
 */
export function removeStaleWorkFolders(folder: string, prefix: string): string[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return [];
  }
  const removed = names.filter((name) => isStaleWorkFolder(folder, name, prefix));
  for (const name of removed) rmSync(join(folder, name), { recursive: true, force: true });
  return removed;
}
