import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { pausepoint } from './failpoint.js';

export interface PidLock {
  /** The PID of a dead process whose lock this one took over, or null. */
  readonly tookOverFrom: number | null;
  /** Removes the lock (if it is still this process's). */
  release(): void;
}

export interface PidLockOptions {
  /** The error when a live process holds the lock. */
  busy(holder: number): Error;
  /** The error when the lock could not be taken over after every attempt. */
  stuck(holder: number | null): Error;
  readonly attempts: number;
  /** A pause point a race test holds every contender at once it has seen a stale lock. */
  readonly stalePausepoint?: string;
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

export function holderOf(path: string): number | null {
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

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Waits a little without giving up the thread (taking a lock is synchronous). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * An exclusive lock file naming its holder's PID. A lock whose process is gone (a crash, a
 * `kill -9`) is taken over. Only the holder of a second, short-lived lock (`<path>.takeover`)
 * may remove a stale lock, and it looks at the holder again first: otherwise of two processes
 * that both saw the dead PID, the later could remove the lock the earlier had just made.
 */
export function acquirePidLock(path: string, options: PidLockOptions): PidLock {
  const takeover = `${path}.takeover`;
  let tookOverFrom: number | null = null;
  for (let attempt = 0; !create(path); attempt++) {
    const holder = holderOf(path);
    if (holder !== null && isRunning(holder)) throw options.busy(holder);
    if (attempt >= options.attempts) throw options.stuck(holder);
    if (options.stalePausepoint) pausepoint(options.stalePausepoint);
    if (!create(takeover)) {
      // Another process is taking over right now; a takeover lock whose process died is removed.
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
      if (holderOf(path) === process.pid) removeIfPresent(path);
    },
  };
}
