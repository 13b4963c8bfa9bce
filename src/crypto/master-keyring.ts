import { accessSync, constants, lstatSync, readlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { CapsuleError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { requireKeyFile } from './file-storage-guards.js';
import { keyPaths, readKeyFile, readRetiredMasterKeys, type KeyLocations } from './key-files.js';
import { keyId } from './keys.js';
import { decrypt } from './protected-value.js';
import { requireReadable, scanProtectedValues, type ProtectedValueLocation } from './protected-values.js';

/* The master keys a home holds (current, staged, retired) and the check a rotation makes first. */

export interface MasterKeyring {
  readonly current: Buffer;
  readonly staged: Buffer | null;
  /** Every master key this home holds (current, staged, retired), by id. */
  readonly keys: ReadonlyMap<string, Buffer>;
}

export function readMasterKeyring(locations: KeyLocations): MasterKeyring {
  const paths = keyPaths(locations.keysDir);
  const current = requireKeyFile(paths.master);
  const staged = readKeyFile(paths.stagedMaster);
  const keys = new Map(readRetiredMasterKeys(locations.keysDir).map((retired) => [retired.kid, retired.key] as const));
  keys.set(keyId(current), current);
  if (staged) keys.set(keyId(staged), staged);
  return { current, staged, keys };
}

export function placeOf(value: ProtectedValueLocation): string {
  return `${value.source === 'repository' ? 'repository node' : 'config file'} ${value.path}`;
}

/**
 * Why the rotation could not rewrite a config file in place, or null. A symbolic link would be
 * replaced by a plain file (the atomic write renames over it) while its target kept the old
 * key; a file marked read-only (no owner write bit: also for root) or in a folder this user
 * cannot write would fail midway, after the key was staged and the repository rewritten.
 */
function whyNotRewritable(file: string): string | null {
  const stat = lstatSync(file);
  if (stat.isSymbolicLink()) {
    return `is a symbolic link (to ${readlinkSync(file)}): the rotation would replace the link with a plain file and the link's target would keep the old key; make ${file} a plain file (copy its target over the link), or keep those secrets at their source as references ($[secret:NAME] holding a value made with 'capsule keys protect')`;
  }
  const readOnly = (stat.mode & 0o200) === 0;
  let denied: string | null = null;
  try {
    accessSync(file, constants.W_OK);
    accessSync(dirname(file), constants.W_OK);
  } catch (error) {
    denied = (error as NodeJS.ErrnoException).code ?? 'not writable';
  }
  if (readOnly || denied) {
    return `is not writable (${readOnly ? `mode ${(stat.mode & 0o777).toString(8)}` : denied}${readOnly && denied ? `, ${denied}` : ''}): make it (and its folder) writable by this user (chmod u+w), or keep those secrets at their source as references ($[secret:NAME] holding a value made with 'capsule keys protect')`;
  }
  return null;
}

/**
 * Everything the rotation needs checked before it changes anything: every node and config file
 * readable, and every value under a key of this home decrypts. Otherwise a rotation would skip
 * a value, and the key it needs would be gone once the rotation ends.
 */
export async function checkBeforeMasterRotation(locations: KeyLocations, repo: Repository, keyring: MasterKeyring) {
  const scan = await scanProtectedValues(repo, locations.configDir);
  requireReadable(scan, 'the master key rotation');
  const currentKid = keyId(keyring.current);
  const toRewrite = new Set(scan.values.filter((value) => value.source === 'config-file' && value.reference === undefined && keyring.keys.has(value.kid)).map((value) => value.path));
  for (const file of toRewrite) {
    const why = whyNotRewritable(file);
    if (why) throw new CapsuleError('INVALID_CONFIG', `the master key rotation stopped before changing anything: config file ${file} holds protected values but ${why}; then rotate again`);
  }
  for (const value of scan.values) {
    if (!keyring.keys.has(value.kid)) continue;
    try {
      decrypt(value.value, keyring.keys, currentKid);
    } catch (error) {
      throw new CapsuleError(
        'PROTECTED_VALUE_INVALID',
        `the master key rotation stopped before changing anything: ${placeOf(value)} property ${value.property} (master ${value.kid}) does not decrypt: ${(error as Error).message}; enter that value again, then rotate`,
        { cause: error },
      );
    }
  }
  return scan.values;
}
