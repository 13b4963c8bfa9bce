import { accessSync, constants, linkSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CapsuleError } from '../errors.js';
import { pausepoint } from '../support/failpoint.js';

/** The file in a home that names the PID of the instance running on it. */
export const HOME_LOCK_FILE = 'instance.lock';

export interface HomeLock {
  /** The PID of a dead instance whose lock this one took over, or null. */
  readonly tookOverFrom: number | null;
  /** Removes the lock (if it is still this process's). */
  release(): void;
}

/**
 * Refuses a home this user cannot read (or reach) with a line that says so, instead of "no
 * home there" or a bare EACCES. A home that does not exist passes: `start` creates it.
 */
export function assertHomeReadable(home: string): void {
  const refuse = (owner: number | null) =>
    new CapsuleError(
      'HOME_UNREADABLE',
      `the home ${home} is not readable by this user (uid ${process.getuid?.() ?? '?'}); run capsule as the user that owns it${owner === null ? '' : ` (uid ${owner})`}, or fix its permissions`,
    );
  for (const path of [home, join(home, 'repository'), join(home, 'keys'), join(home, 'config')]) {
    let owner: number;
    try {
      owner = statSync(path).uid;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      if (code === 'EACCES') throw refuse(null); // a folder above it cannot be entered
      throw error;
    }
    try {
      accessSync(path, constants.R_OK | constants.X_OK);
    } catch {
      throw refuse(owner);
    }
  }
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

/**
 * Creates the lock file with this PID; false when it exists. The PID is written to a file of
 * this process's own and linked into place (`link` fails when the name exists), so a lock file
 * never exists empty: an empty one would look like a crash and be taken over.
 */
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

/** Waits a little without giving up the thread (lockHome is synchronous). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * One running instance per home: a second `capsule start` on a home whose lock names a live
 * process refuses and names it. A lock whose process is gone (a crash, a `kill -9`) is taken
 * over. Creation is exclusive (`O_EXCL`). Only the holder of a second, short-lived lock
 * (`instance.lock.takeover`) may remove a stale lock, and it looks at the holder again first:
 * otherwise of two starts that both saw the dead PID, the later could remove the lock the
 * earlier had just made, and both would run.
 */
export function lockHome(home: string): HomeLock {
  assertHomeReadable(home);
  const path = join(home, HOME_LOCK_FILE);
  const takeover = `${path}.takeover`;
  let tookOverFrom: number | null = null;
  for (let attempt = 0; !create(path); attempt++) {
    const holder = holderOf(path);
    if (holder !== null && isRunning(holder)) {
      throw new CapsuleError(
        'HOME_IN_USE',
        `the home ${home} is in use by a running instance (PID ${holder}${holder === process.pid ? ', this process' : ''}); stop it first, or give this instance a home of its own`,
      );
    }
    if (attempt >= 50) throw new CapsuleError('HOME_IN_USE', `could not take over the lock ${path}; remove it (and ${takeover}) if no instance runs on ${home}`);
    pausepoint('lock:stale-seen'); // a race test lets the other starts catch up here
    if (!create(takeover)) {
      // Another start is taking over right now; a takeover lock whose process died is removed.
      const taker = holderOf(takeover);
      if (taker !== null && !isRunning(taker)) removeIfPresent(takeover);
      pause(20);
      continue;
    }
    try {
      const again = holderOf(path);
      if (again === holder && (again === null || !isRunning(again))) {
        removeIfPresent(path);
        tookOverFrom = holder;
      }
    } finally {
      removeIfPresent(takeover);
    }
  }
  return {
    tookOverFrom,
    release() {
      if (holderOf(path) === process.pid) unlinkSync(path);
    },
  };
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
