import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CapsuleError } from '../errors.js';
import { pausepoint } from '../support/failpoint.js';
import { acquirePidLock } from '../support/pid-lock.js';
import type { KeyLocations } from './key-files.js';

/** The file in a home that names the PID of the key command changing its keys. */
export const KEY_LOCK_FILE = 'keys.lock';

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
  const refuse = (holder: number | null) =>
    new CapsuleError(
      'KEY_CONFLICT',
      `${operation} refused: another key command is running on this home (pid ${holder ?? '?'}); nothing was changed; run it again once that command has finished (if no capsule command runs, remove ${path})`,
    );
  const lock = acquirePidLock(path, { busy: refuse, stuck: refuse, attempts: 20 });
  return () => lock.release();
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
