import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { CapsuleError } from '../errors.js';

// Debian installs haproxy in /usr/sbin, which is not on every user's PATH.
const SYSTEM_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false; // absent or not executable: look in the next folder
  }
}

/** The `haproxy` program: `$CAPSULE_HAPROXY`, else the PATH, else the system folders. */
export function findHaproxy(env: NodeJS.ProcessEnv, systemDirs: readonly string[] = SYSTEM_DIRS): string {
  if (env.CAPSULE_HAPROXY) {
    if (isExecutable(env.CAPSULE_HAPROXY)) return env.CAPSULE_HAPROXY;
    throw new CapsuleError('CHECK_FAILED', `CAPSULE_HAPROXY is ${env.CAPSULE_HAPROXY}, which is not an executable program; fix it or unset it`);
  }
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), ...systemDirs];
  const found = dirs.map((dir) => join(dir, 'haproxy')).find(isExecutable);
  if (found) return found;
  throw new CapsuleError(
    'CHECK_FAILED',
    "haproxy is not installed (looked on the PATH and in /usr/sbin); install it with 'sudo apt-get install haproxy' (Debian, Ubuntu) or your system's package manager, or set CAPSULE_HAPROXY to its path",
  );
}

/**
 * Runs `haproxy -c`, so a broken configuration is reported before any instance starts.
 * `shownAs`: the name to give the file in the message (a temp file checked before it replaces it).
 */
export async function checkHaproxyConfig(haproxy: string, configFile: string, shownAs = configFile): Promise<void> {
  try {
    // Not -q: it silences the alerts too, and the first alert is what the operator must read.
    await promisify(execFile)(haproxy, ['-c', '-f', configFile], { timeout: 10_000 });
  } catch (error) {
    const alert = `${(error as { stderr?: string }).stderr ?? ''}`.trim().split('\n').find((line) => /ALERT|error/i.test(line));
    const complaint = alert === undefined ? (error as Error).message : alert.replace(/^\[ALERT\]\s*\(\d+\)\s*:\s*(config\s*:\s*)?/, '');
    throw new CapsuleError('CHECK_FAILED', `haproxy refuses ${shownAs}: ${complaint.split(configFile).join(shownAs).trim()}`);
  }
}
