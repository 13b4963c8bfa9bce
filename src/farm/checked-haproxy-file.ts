import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CapsuleError } from '../errors.js';
import { syncFolder } from '../support/atomic-file.js';
import { checkHaproxyConfig, findHaproxy } from './haproxy-binary.js';

/**
 * Writes an HAProxy configuration beside `file`, has `haproxy -c` check it when haproxy is
 * installed here, and only then renames it over `file`: a configuration HAProxy refuses never
 * replaces the one that works (a reload would fail on it), and the old file stays as it was.
 * Answers whether haproxy checked it.
 */
export async function writeCheckedHaproxyConfig(file: string, config: string, env: NodeJS.ProcessEnv): Promise<{ checked: boolean }> {
  let haproxy: string | null;
  try {
    haproxy = findHaproxy(env);
  } catch (error) {
    if (env.CAPSULE_HAPROXY) throw error; // named, but not a program: say so rather than skip the check
    haproxy = null; // not installed on this machine: the file is written unchecked, and the caller says so
  }
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  writeFileSync(temp, config, { mode: 0o644, flag: 'wx' });
  try {
    if (haproxy !== null) await checkHaproxyConfig(haproxy, temp, file);
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    if (error instanceof CapsuleError) throw new CapsuleError(error.code, `${error.message}; ${file} was left as it was`);
    throw error;
  }
  syncFolder(dirname(file));
  return { checked: haproxy !== null };
}
