import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CapsuleError } from '../errors.js';

/** The file in a home that names the PID of the instance running on it. */
export const HOME_LOCK_FILE = 'instance.lock';

export interface HomeLock {
  /** The PID of a dead instance whose lock this one took over, or null. */
  readonly tookOverFrom: number | null;
  /** Removes the lock (if it is still this process's). */
  release(): void;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

function holderOf(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null; // removed meanwhile, or unreadable: no live holder to name
  }
}

/** Creates the lock file with this PID; false when it exists. */
function create(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * One running instance per home: a second `capsule start` on a home whose lock names a live
 * process refuses and names it. A lock whose process is gone (a crash, a `kill -9`) is taken
 * over. Creation is exclusive (`O_EXCL`), so of two starts racing for a stale lock one wins.
 */
export function lockHome(home: string): HomeLock {
  const path = join(home, HOME_LOCK_FILE);
  let tookOverFrom: number | null = null;
  for (let attempt = 0; !create(path); attempt++) {
    const holder = holderOf(path);
    if (holder !== null && isRunning(holder)) {
      throw new CapsuleError(
        'HOME_IN_USE',
        `the home ${home} is in use by a running instance (PID ${holder}${holder === process.pid ? ', this process' : ''}); stop it first, or give this instance a home of its own`,
      );
    }
    if (attempt >= 3) throw new CapsuleError('HOME_IN_USE', `could not take over the lock ${path}; remove it if no instance runs on ${home}`);
    tookOverFrom = holder;
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return {
    tookOverFrom,
    release() {
      if (holderOf(path) === process.pid) unlinkSync(path);
    },
  };
}
