import { closeSync, lstatSync, openSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { CapsuleError } from '../errors.js';
import { holderOf } from '../support/pid-lock.js';
import { holdsOpen, startTimeOf, userOf } from '../support/process-identity.js';
import { HOME_LOCK_FILE } from './home-lock.js';

/**
 * A running instance keeps its home's lock file open. The file names a PID, but a PID outlives
 * nothing: after a crash it may belong to a stranger. Holding the very file (same inode) open is
 * what tells `capsule stop` that the PID is this home's instance and not that stranger.
 */
export function holdLockFileOpen(home: string): { close(): void } {
  const fd = openSync(join(home, HOME_LOCK_FILE), 'r');
  let open = true;
  return {
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** The instance running on this home, checked (its PID, and when it started); null when none is. */
export function runningInstanceOf(home: string): { readonly pid: number; readonly started: string } | null {
  const lockFile = join(home, HOME_LOCK_FILE);
  let file: Stats;
  try {
    file = lstatSync(lockFile);
  } catch {
    return null;
  }
  // A lock file that is a link could name another program's pidfile, which that program holds
  // open too: never follow one. And an instance runs as the user that wrote its lock file.
  if (!file.isFile()) {
    throw new CapsuleError('CHECK_FAILED', `the lock file ${lockFile} is not a regular file (a link?); Capsule never writes one like that, so nothing was signalled: look at it, and remove it if no instance runs`);
  }
  const pid = holderOf(lockFile);
  if (pid === null || pid === process.pid) return null;
  // Read before the check, compared again before the signal: a PID that exited and was given to
  // another process meanwhile has another start time.
  const started = startTimeOf(pid);
  if (started === null) return null;
  const owner = userOf(pid);
  if (owner !== null && owner !== file.uid) return null;
  const held = holdsOpen(pid, lockFile);
  if (typeof held === 'boolean') return held ? { pid, started } : null;
  throw new CapsuleError(
    'CHECK_FAILED',
    held.unknown === 'other-user'
      ? `the lock file ${lockFile} names PID ${pid}, which runs as another user; run capsule stop as the user that started the instance`
      : `the lock file ${lockFile} names PID ${pid}, and this system has no /proc to check it is this home's instance; check it yourself, then kill -TERM ${pid}`,
  );
}

export interface StopOptions {
  /** How long to wait for the instance to finish what it is doing and exit. */
  readonly timeoutMs: number;
  /** Called between looks at the process; tests and the CLI pass a real pause. */
  readonly pause: (ms: number) => Promise<void>;
  readonly now: () => number;
}

/**
 * Sends SIGTERM to the instance running on this home and waits until its process is gone. No
 * event tells another process's exit, so this looks at /proc, a bounded number of times.
 */
export async function stopRunningInstance(home: string, options: StopOptions): Promise<{ readonly pid: number }> {
  const notRunning = () => new CapsuleError('INSTANCE_NOT_RUNNING', `no instance is running for the home ${home}; nothing to stop`);
  const running = runningInstanceOf(home);
  if (running === null) throw notRunning();
  const { pid, started } = running;
  if (startTimeOf(pid) !== started) throw notRunning();
  try {
    process.kill(pid, 'SIGTERM');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') throw notRunning(); // it exited just now
    throw error;
  }
  const deadline = options.now() + options.timeoutMs;
  while (startTimeOf(pid) === started) {
    if (options.now() >= deadline) {
      throw new CapsuleError(
        'CHECK_FAILED',
        `the instance (PID ${pid}) was asked to stop but still runs after ${Math.round(options.timeoutMs / 1000)} s; look at its log, wait longer with --timeout, or kill -KILL ${pid}`,
      );
    }
    await options.pause(50);
  }
  return { pid };
}
