import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CapsuleError } from '../errors.js';
import { pausepoint } from '../support/failpoint.js';
import type { KeyLocations } from './key-files.js';

/** The file in a home that names the PID of the key command changing its keys. */
export const KEY_LOCK_FILE = 'keys.lock';

function holderOf(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates `path` holding this PID, never empty (written aside, then linked: `link` fails on an existing name). */
function create(path: string): boolean {
  const own = `${path}.${process.pid}`;
  writeFileSync(own, `${process.pid}\n`, { mode: 0o600 });
  try {
    linkSync(own, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(own);
  }
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * One key command at a time per home: two rotations (or a rotation and an import) would each
 * retire the master they read, and the key one of them wrote would be lost. The lock is
 * exclusive (`link`), names its PID, and a lock whose process is gone is taken over; only the
 * holder of `keys.lock.takeover` removes a stale lock, after looking at its holder again.
 */
function lockKeyOperations(locations: KeyLocations, operation: string): () => void {
  const home = dirname(locations.keysDir);
  mkdirSync(home, { recursive: true });
  const path = join(home, KEY_LOCK_FILE);
  const takeover = `${path}.takeover`;
  for (let attempt = 0; !create(path); attempt++) {
    const holder = holderOf(path);
    if ((holder !== null && isRunning(holder)) || attempt >= 20) {
      throw new CapsuleError(
        'KEY_CONFLICT',
        `${operation} refused: another key command is running on this home (pid ${holder ?? '?'}); nothing was changed; run it again once that command has finished (if no capsule command runs, remove ${path})`,
      );
    }
    if (!create(takeover)) {
      const taker = holderOf(takeover);
      if (taker !== null && !isRunning(taker)) removeIfPresent(takeover);
      continue;
    }
    try {
      const again = holderOf(path);
      if (again === holder) removeIfPresent(path);
    } finally {
      removeIfPresent(takeover);
    }
  }
  return () => {
    if (holderOf(path) === process.pid) removeIfPresent(path);
  };
}

/** Runs `work` holding the home's key-operation lock; a second key command meanwhile is refused and changes nothing. */
export async function withKeyOperationLock<T>(locations: KeyLocations, operation: string, work: () => Promise<T>): Promise<T> {
  const release = lockKeyOperations(locations, operation);
  try {
    pausepoint('keys:locked'); // a race test holds a key command here while it runs another
    return await work();
  } finally {
    release();
  }
}
