import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { CapsuleError } from '../errors.js';
import { acquirePidLock, type PidLock } from '../support/pid-lock.js';

/** The file in a home that names the PID of the instance running on it. */
export const HOME_LOCK_FILE = 'instance.lock';

export type HomeLock = PidLock;

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
    let stats: Stats;
    try {
      stats = statSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      if (code === 'EACCES') throw refuse(null); // a folder above it cannot be entered
      throw error;
    }
    if (!stats.isDirectory()) {
      // Not a permission problem, though access() below would fail on it as if it were one.
      throw new CapsuleError(
        'HOME_UNREADABLE',
        path === home
          ? `the home ${home} is a file, not a folder; give --home (or CAPSULE_HOME) a folder: an instance home, or one that does not exist yet for a new home`
          : `${path} in the home ${home} is a file, not a folder; this is not an instance home, or it is damaged`,
      );
    }
    const owner = stats.uid;
    try {
      accessSync(path, constants.R_OK | constants.X_OK);
    } catch {
      throw refuse(owner);
    }
  }
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
  return acquirePidLock(path, {
    busy: (holder) =>
      new CapsuleError(
        'HOME_IN_USE',
        `the home ${home} is in use by a running instance (PID ${holder}${holder === process.pid ? ', this process' : ''}); stop it first, or give this instance a home of its own`,
      ),
    stuck: () => new CapsuleError('HOME_IN_USE', `could not take over the lock ${path}; remove it (and ${path}.takeover) if no instance runs on ${home}`),
    attempts: 50,
    stalePausepoint: 'lock:stale-seen', // a race test lets the other starts catch up here
  });
}
