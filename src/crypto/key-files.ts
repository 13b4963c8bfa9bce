import { chmodSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { CapsuleError } from '../errors.js';
import { syncFolder, writeFileAtomic } from '../support/atomic-file.js';
import { checkKeyBytes, keyId } from './keys.js';

export type KeyStorageMode = 'file' | 'repository';

/** Where an instance's key files are (a subset of the instance home). */
export interface KeyLocations {
  readonly keysDir: string;
  readonly configDir: string;
}

export function keyPaths(keysDir: string) {
  return {
    master: join(keysDir, 'master'),
    hmac: join(keysDir, 'hmac'),
    marker: join(keysDir, 'storage'),
    stagedDir: join(keysDir, 'staged'),
    stagedMaster: join(keysDir, 'staged', 'master'),
    stagedHmac: join(keysDir, 'staged', 'hmac'),
    retiredDir: join(keysDir, 'retired'),
    /** Master keys a rotation replaced: they still decrypt values and backups made with them. */
    retiredMasterDir: join(keysDir, 'retired-master'),
  };
}

/** Every key file of a home that exists: current, staged, retired HMAC and retired master keys. */
export function existingKeyFiles(keysDir: string): string[] {
  const paths = keyPaths(keysDir);
  const files = [paths.master, paths.hmac, paths.stagedMaster, paths.stagedHmac].filter((file) => existsSync(file));
  for (const dir of [paths.retiredDir, paths.retiredMasterDir]) {
    if (existsSync(dir)) files.push(...readdirSync(dir).map((name) => join(dir, name)));
  }
  return files;
}

/** What is wrong with a key file's mode (others may read it), with the fix; null when nothing is. */
export function keyFileModeProblem(file: string): string | null {
  const mode = statSync(file).mode & 0o777;
  return mode & 0o077 ? `mode ${mode.toString(8)}: others can read the key; chmod 600 ${file}` : null;
}

export function ensureKeysDir(keysDir: string): void {
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  chmodSync(keysDir, 0o700);
}

/** `keys/storage`: 'file' or 'repository', surrounding white space tolerated; null when absent. */
export function readMarker(keysDir: string): KeyStorageMode | null {
  const file = keyPaths(keysDir).marker;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CapsuleError('KEY_INVALID', `cannot read ${file}: ${(error as Error).message}`);
  }
  const mode = text.trim();
  if (mode === 'file' || mode === 'repository') return mode;
  throw new CapsuleError(
    'KEY_INVALID',
    `${file} holds '${mode.slice(0, 40)}'; it must be 'file' or 'repository'; fix it or run 'capsule keys doctor'`,
  );
}

export function writeMarker(keysDir: string, mode: KeyStorageMode): void {
  ensureKeysDir(keysDir);
  writeFileAtomic(keyPaths(keysDir).marker, mode, 0o600);
}

/** The key in `file`, null when there is none; refuses a file that is not 32 bytes. */
export function readKeyFile(file: string): Buffer | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CapsuleError('KEY_INVALID', `cannot read ${file}: ${(error as Error).message}`);
  }
  return checkKeyBytes(bytes, file);
}

export function writeKeyFile(file: string, key: Buffer): void {
  writeFileAtomic(file, key, 0o600);
}

/**
 * Writes a key file only if none is there: written aside, then linked into place (`link` fails
 * on an existing name), so the name never holds half a key. False when the file exists.
 */
export function writeNewKeyFile(file: string, key: Buffer): boolean {
  const aside = `${file}.${process.pid}.new`;
  writeFileAtomic(aside, key, 0o600);
  try {
    linkSync(aside, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(aside);
  }
  syncFolder(join(file, '..'));
  return true;
}

export function removeFile(file: string): void {
  if (!existsSync(file)) return;
  rmSync(file, { force: true });
  syncFolder(join(file, '..'));
}

export interface RetiredKey {
  readonly kid: string;
  readonly key: Buffer;
  /** When the key stopped signing (the file's modification time). */
  readonly retiredAt: number;
}

function readKeysIn(dir: string): RetiredKey[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => /^[0-9a-f]{16}$/.test(name))
    .sort()
    .map((name) => {
      const file = join(dir, name);
      const key = readKeyFile(file)!;
      return { kid: keyId(key), key, retiredAt: statSync(file).mtimeMs };
    });
}

/** A retired master key file that cannot be used: not a key, or named after another key than it holds. */
export interface DamagedKeyFile {
  /** The file's name (the key id it claims). */
  readonly name: string;
  readonly file: string;
  /** The id of the valid key it holds under another name; null when it holds no key. */
  readonly holds: string | null;
  readonly reason: string;
}

/**
 * The retired master keys, each checked against its name, and the files that fail: one damaged
 * file must not stop the home (it only decrypts old values), and a file whose content is
 * another key than its name says must never be taken (or removed) for the key it names.
 */
export function scanRetiredMasterKeys(keysDir: string): { keys: RetiredKey[]; damaged: DamagedKeyFile[] } {
  const dir = keyPaths(keysDir).retiredMasterDir;
  const keys: RetiredKey[] = [];
  const damaged: DamagedKeyFile[] = [];
  if (!existsSync(dir)) return { keys, damaged };
  for (const name of readdirSync(dir).filter((entry) => /^[0-9a-f]{16}$/.test(entry)).sort()) {
    const file = join(dir, name);
    let key: Buffer;
    try {
      key = readKeyFile(file)!;
    } catch (error) {
      damaged.push({ name, file, holds: null, reason: (error as Error).message.replace(/; restore it with 'capsule keys import'$/, '') });
      continue;
    }
    if (!key) continue; // removed meanwhile
    const kid = keyId(key);
    if (kid !== name) {
      damaged.push({ name, file, holds: kid, reason: `${file} holds master ${kid}, not ${name}: it was renamed or copied over` });
      continue;
    }
    keys.push({ kid, key, retiredAt: statSync(file).mtimeMs });
  }
  return { keys, damaged };
}

/** What to do about a damaged retired master file. */
export const DAMAGED_RETIRED_MASTER_ADVICE =
  "it is skipped (values under that key do not decrypt); move it away, or restore it from a key bundle exported before it was damaged ('capsule keys import --in BUNDLE'), or remove it with 'capsule keys remove-retired-master ID --yes'";

function writeKeyIn(dir: string, key: Buffer, retiredAt: number | undefined): void {
  const file = join(dir, keyId(key));
  writeKeyFile(file, key);
  if (retiredAt !== undefined) utimesSync(file, retiredAt / 1000, retiredAt / 1000);
}

/** The retired HMAC keys (`keys/retired/<id>`). */
export function readRetiredKeys(keysDir: string): RetiredKey[] {
  return readKeysIn(keyPaths(keysDir).retiredDir);
}

export function writeRetiredKey(keysDir: string, key: Buffer, retiredAt: number): void {
  writeKeyIn(keyPaths(keysDir).retiredDir, key, retiredAt);
}

export function removeRetiredKey(keysDir: string, kid: string): void {
  removeFile(join(keyPaths(keysDir).retiredDir, kid));
}

/** The usable retired master keys (`keys/retired-master/<id>`); `retiredAt` is when a rotation replaced each. Damaged files are skipped (see `scanRetiredMasterKeys`). */
export function readRetiredMasterKeys(keysDir: string): RetiredKey[] {
  return scanRetiredMasterKeys(keysDir).keys;
}

/** Without `retiredAt` the file keeps the time it is written (an import keeps the bundle's time). */
export function writeRetiredMasterKey(keysDir: string, key: Buffer, retiredAt?: number): void {
  const file = join(keyPaths(keysDir).retiredMasterDir, keyId(key));
  // A file under this name that holds another whole key (copied in by hand under the wrong name)
  // is the only copy of that key: never written over. Damaged bytes are repaired by the right key.
  if (existsSync(file)) {
    const held = readFileSync(file);
    if (held.length === 32 && !held.equals(key)) {
      throw new CapsuleError('KEY_CONFLICT', `${file} holds master ${keyId(held)}, not the key its name says; nothing was written there; move it away (it may be the only copy of that key) and run the command again`);
    }
  }
  writeKeyIn(keyPaths(keysDir).retiredMasterDir, key, retiredAt);
}

export function removeRetiredMasterKey(keysDir: string, kid: string): void {
  removeFile(join(keyPaths(keysDir).retiredMasterDir, kid));
}

/** Removes every retired key (the compromise playbook); returns their ids. */
export function discardRetiredKeys(keysDir: string): string[] {
  const kids = readRetiredKeys(keysDir).map((retired) => retired.kid);
  for (const kid of kids) removeRetiredKey(keysDir, kid);
  return kids;
}

/**
 * Removes the retired keys that can no longer have signed a live token: a key stops signing
 * when it is retired, so its last token expires `maxTokenAgeMs` later (the longest token
 * lifetime plus the clock-skew allowance). Returns the ids removed.
 */
export function expireRetiredKeys(keysDir: string, now: number, maxTokenAgeMs: number): string[] {
  const expired = readRetiredKeys(keysDir).filter((retired) => retired.retiredAt + maxTokenAgeMs <= now);
  for (const retired of expired) removeRetiredKey(keysDir, retired.kid);
  return expired.map((retired) => retired.kid);
}
