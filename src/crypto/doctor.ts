import { existsSync, readFileSync, statSync } from 'node:fs';
import { isCapsuleError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { DAMAGED_RETIRED_MASTER_ADVICE, existingKeyFiles, keyFileModeProblem, keyPaths, readKeyFile, readMarker, readRetiredKeys, scanRetiredMasterKeys, type KeyLocations, type RetiredKey } from './key-files.js';
import { loadKeySet, type KeySet } from './key-set.js';
import { checkKeyBytes, keyId } from './keys.js';
import { decrypt } from './protected-value.js';
import { describeUnreadable, scanProtectedValues, type ProtectedValueLocation } from './protected-values.js';
import { unmarkedRepositoryKeys } from './key-guard.js';
import { hasRepositoryKeys, KEY_NODE, readRepositoryKeys } from './repository-keys.js';
import { isSharedRepository } from './shared-repository.js';

export type FindingLevel = 'ok' | 'warn' | 'error';

export interface Finding {
  readonly level: FindingLevel;
  readonly subject: string;
  readonly message: string;
  /** One protected value's finding (a home may have thousands: a report may count them instead). */
  readonly protectedValue?: true;
}

export interface ProtectedValueReport {
  readonly source: 'repository' | 'config-file';
  readonly path: string;
  readonly property: string;
  readonly kid: string;
  readonly decrypts: boolean;
  readonly error?: string;
}

/** One master key of the home's keyring and the values that need it. */
export interface MasterKeyUsage {
  readonly kid: string;
  readonly role: 'current' | 'staged' | 'retired';
  /** When a rotation retired it (ISO 8601); retired keys only. */
  readonly retiredAt?: string;
  readonly values: number;
  /** Values by where they are: the repository (by configuration PID or node path) and each config file. */
  readonly where: Readonly<Record<string, number>>;
}

export interface DoctorReport {
  readonly ok: boolean;
  readonly findings: readonly Finding[];
  readonly values: readonly ProtectedValueReport[];
  /** Every master key the home holds, with how many values use it. */
  readonly masterKeys: readonly MasterKeyUsage[];
}

function modeOf(file: string): number {
  return statSync(file).mode & 0o777;
}

function messageOf(error: unknown): string {
  return isCapsuleError(error) || error instanceof Error ? error.message : String(error);
}

/** Everything about a home's keys that can be checked without changing anything. */
export async function diagnoseKeys(locations: KeyLocations, repo: Repository): Promise<DoctorReport> {
  const findings: Finding[] = [];
  const add = (level: FindingLevel, subject: string, message: string) => findings.push({ level, subject, message });
  const paths = keyPaths(locations.keysDir);

  let marker: ReturnType<typeof readMarker> = null;
  let markerReadable = true;
  try {
    marker = readMarker(locations.keysDir);
  } catch (error) {
    markerReadable = false;
    add('error', paths.marker, messageOf(error));
  }
  // An older installation's home (keys in /etc/key, no keys/storage): the verdict start gives it.
  const unmarkedKeys = markerReadable && marker === null && !isSharedRepository(repo) ? await readRepositoryKeys(repo).catch(() => null) : null;
  const legacy = unmarkedKeys !== null && hasRepositoryKeys(unmarkedKeys);
  if (legacy) add('error', paths.marker, `missing, and 'capsule start' refuses this home: ${unmarkedRepositoryKeys(unmarkedKeys)}`);
  else if (marker) add('ok', paths.marker, `keys are kept in the ${marker === 'file' ? 'file system' : 'repository'}`);
  else if (markerReadable) add('error', paths.marker, 'missing: the home has no key storage marker');

  if (existsSync(locations.keysDir)) {
    const mode = modeOf(locations.keysDir);
    if (mode & 0o077) add('warn', locations.keysDir, `mode ${mode.toString(8)}; should be 700 (chmod 700)`);
  }
  const keyFiles = existingKeyFiles(locations.keysDir);
  const retiredMasterScan = scanRetiredMasterKeys(locations.keysDir);
  const damagedRetired = new Set(retiredMasterScan.damaged.map((damaged) => damaged.file));
  for (const damaged of retiredMasterScan.damaged) add('error', damaged.file, `${damaged.reason}; ${DAMAGED_RETIRED_MASTER_ADVICE}`);
  for (const file of keyFiles) {
    if (!existsSync(file) || damagedRetired.has(file)) continue;
    try {
      const key = checkKeyBytes(readFileSync(file), file);
      const modeProblem = keyFileModeProblem(file);
      if (modeProblem) add('error', file, modeProblem);
      else add('ok', file, `32 bytes, id ${keyId(key)}, mode ${modeOf(file).toString(8)}`);
    } catch (error) {
      add('error', file, messageOf(error));
    }
  }
  if (existsSync(paths.stagedMaster)) add('warn', paths.stagedMaster, "a master key rotation was interrupted; run 'capsule keys rotate --master' to finish it");
  if (existsSync(paths.stagedHmac)) add('warn', paths.stagedHmac, 'an hmac key is staged (verifies, does not sign yet)');

  // The master key(s) as found, for the protected values even when the whole key set does not load
  // (a missing hmac key says nothing about whether values decrypt: they depend on the master key).
  const mastersFound: Buffer[] = [];
  try {
    const repositoryKeys = await readRepositoryKeys(repo);
    const fileKeys = { master: readKeyFile(paths.master), hmac: readKeyFile(paths.hmac) };
    const stagedMaster = readKeyFile(paths.stagedMaster);
    if ((marker === 'repository' || legacy) && repositoryKeys.master) mastersFound.push(repositoryKeys.master);
    else if (marker !== 'repository' && fileKeys.master) mastersFound.push(fileKeys.master, ...(stagedMaster ? [stagedMaster] : []));
    const sameKeys = fileKeys.master !== null && fileKeys.hmac !== null && repositoryKeys.master?.equals(fileKeys.master) === true && repositoryKeys.hmac?.equals(fileKeys.hmac) === true;
    if (hasRepositoryKeys(repositoryKeys) && marker !== 'repository') {
      if (sameKeys && marker === 'file' && isSharedRepository(repo)) {
        // keys migrate --cluster copies /etc/key and leaves it: the other authors read their keys there.
        add('ok', KEY_NODE, "the cluster's copy of the keys (the same keys as keys/): this PostgreSQL repository is shared, and the authors that keep their keys in the repository read them there");
        const held = new Set(scanRetiredMasterKeys(locations.keysDir).keys.map((key) => key.kid));
        const lacking = (repositoryKeys.retiredMaster ?? []).filter((key) => !held.has(key.kid)).map((key) => key.kid);
        if (lacking.length > 0) {
          add('warn', KEY_NODE, `holds retired master key${lacking.length === 1 ? '' : 's'} ${lacking.join(', ')} that this author's keys/ lacks (values under ${lacking.length === 1 ? 'it' : 'them'} do not decrypt here); import a bundle exported on an author that reads ${KEY_NODE} ('capsule keys export' there, 'capsule keys import --in BUNDLE' here)`);
        }
      } else if (sameKeys && marker === 'file') {
        // keys migrate writes the target, switches the marker, then removes the source: killed between, both hold the keys.
        add(
          'warn',
          KEY_NODE,
          "holds a copy of the keys in keys/ (the same keys; the home uses the files): a 'capsule keys migrate' was interrupted; run 'capsule keys migrate' again to finish moving them to the file system, or 'capsule keys migrate --to repository' if you were moving them there",
        );
      } else if (!legacy) {
        add('error', KEY_NODE, "holds keys that keys/storage does not point to; run 'capsule keys migrate'");
      }
    }
    if (marker === 'repository' && (fileKeys.master !== null || fileKeys.hmac !== null)) {
      add(
        'warn',
        locations.keysDir,
        sameKeys
          ? "keys/master and keys/hmac are a copy of the keys in /etc/key (the home uses those): a 'capsule keys migrate' was interrupted; run 'capsule keys migrate --to repository' again to finish, or 'capsule keys migrate' if you were moving them to the file system"
          : "holds key files although keys/storage says 'repository' (the home uses /etc/key); if they are not a backup, move them away",
      );
    }
  } catch (error) {
    add('error', KEY_NODE, messageOf(error));
  }

  let keys: KeySet | null = null;
  try {
    keys = await loadKeySet(locations.keysDir, repo);
    add('ok', 'keys', `master ${keyId(keys.master)}, hmac ${keyId(keys.hmac)}, ${readRetiredKeys(locations.keysDir).length} retired hmac keys, ${keys.retiredMaster?.length ?? 0} retired master keys`);
  } catch (error) {
    if (!legacy) add('error', 'keys', messageOf(error)); // said above, with what to run
  }

  const retiredMasters: readonly RetiredKey[] = keys?.retiredMaster ?? retiredMasterScan.keys;
  const masters = keys ? [keys.master, ...(keys.stagedMaster ? [keys.stagedMaster] : [])] : mastersFound;
  const decryptionKeys = new Map(retiredMasters.map((retired) => [retired.kid, retired.key] as const));
  for (const master of masters) decryptionKeys.set(keyId(master), master);
  const currentKid = masters[0] ? keyId(masters[0]) : null;
  const scan = await scanProtectedValues(repo, locations.configDir);
  for (const place of scan.unreadable) {
    add('error', `${place.source} ${place.path}${place.property ? ` ${place.property}` : ''}`, `${describeUnreadable(place)}; a key rotation refuses to run until it is fixed`);
  }
  for (const place of scan.references.filter((reference) => reference.unresolved)) {
    add('warn', `${place.source} ${place.path} ${place.property}`, `${place.unresolved}: the value it gives the instance could not be checked here (an instance's environment may differ from this command's)`);
  }
  const found = scan.values;
  if (currentKid === null) {
    // Without any master key nothing can be decrypted: one problem, not one per value.
    const values = found.map(({ value: _value, ...where }) => ({ ...where, decrypts: false, error: 'no master key to check it with' }));
    if (values.length > 0) add('error', 'protected values', `${values.length} cannot be checked: no master key was found (restore it with 'capsule keys import --in BUNDLE')`);
    return { ok: false, findings, values, masterKeys: [] };
  }
  const values: ProtectedValueReport[] = found.map(({ value, ...where }) => {
    try {
      decrypt(value, decryptionKeys, currentKid);
      return { ...where, decrypts: true };
    } catch (error) {
      return { ...where, decrypts: false, error: messageOf(error) };
    }
  });
  for (const value of values.filter((v) => !v.decrypts)) {
    findings.push({ level: 'error', subject: `${value.source} ${value.path} ${value.property}`, message: `key ${value.kid}: ${value.error ?? 'does not decrypt'}`, protectedValue: true });
  }
  if (values.length > 0 && values.every((v) => v.decrypts)) add('ok', 'protected values', `all ${values.length} decrypt`);
  const masterKeys = masterKeyUsage(masters, retiredMasters, found);
  reportMasterKeys(masterKeys, found, add);
  return { ok: findings.every((finding) => finding.level !== 'error'), findings, values, masterKeys };
}

/** Where a value is, for the per-key counts: a configuration by its PID (factory part), else the node or file. */
function placeOf(value: ProtectedValueLocation): string {
  if (value.source === 'config-file') return `config file ${value.path.split(/[\\/]/).pop()}`;
  const pid = /^\/conf\/system\/([^/]+)$/.exec(value.path)?.[1];
  return pid ? `repository ${pid.split('~')[0]}` : `repository ${value.path}`;
}

function masterKeyUsage(masters: readonly Buffer[], retired: readonly RetiredKey[], found: readonly ProtectedValueLocation[]): MasterKeyUsage[] {
  const keyring: Array<Omit<MasterKeyUsage, 'values' | 'where'>> = [
    ...masters.map((key, index) => ({ kid: keyId(key), role: index === 0 ? ('current' as const) : ('staged' as const) })),
    ...retired.map((key) => ({ kid: key.kid, role: 'retired' as const, retiredAt: new Date(key.retiredAt).toISOString() })),
  ];
  const seen = new Set<string>();
  return keyring
    .filter((key) => !seen.has(key.kid) && seen.add(key.kid))
    .map((key) => {
      const where: Record<string, number> = {};
      const users = found.filter((value) => value.kid === key.kid);
      for (const value of users) where[placeOf(value)] = (where[placeOf(value)] ?? 0) + 1;
      return { ...key, values: users.length, where };
    });
}

function reportMasterKeys(usage: readonly MasterKeyUsage[], found: readonly ProtectedValueLocation[], add: (level: FindingLevel, subject: string, message: string) => void): void {
  for (const key of usage) {
    const where = Object.entries(key.where).map(([place, count]) => `${count} in ${place}`).join(', ');
    const uses = key.values === 0 ? 'no value uses it' : `${key.values} value${key.values === 1 ? '' : 's'} use${key.values === 1 ? 's' : ''} it (${where})`;
    if (key.role !== 'retired') {
      add('ok', `master ${key.kid} (${key.role})`, uses);
    } else if (key.values > 0) {
      add('ok', `master ${key.kid} (retired ${key.retiredAt})`, `${uses}; the next 'capsule keys rotate --master' re-encrypts them`);
    } else {
      add(
        'ok',
        `master ${key.kid} (retired ${key.retiredAt})`,
        `${uses}; it still decrypts backups taken before ${key.retiredAt}; 'capsule keys remove-retired-master ${key.kid} --yes' removes it once no such backup is kept`,
      );
    }
  }
  const known = new Set(usage.map((key) => key.kid));
  const current = usage.find((key) => key.role === 'current');
  const retired = usage.filter((key) => key.role === 'retired');
  const underRetired = retired.reduce((sum, key) => sum + key.values, 0);
  const unknown = found.filter((value) => !known.has(value.kid)).length;
  add(
    unknown > 0 ? 'warn' : 'ok',
    'master keys',
    `${usage.length} held (current ${current?.kid ?? 'none'}, ${retired.length} retired); ${found.length} protected values: ${current?.values ?? 0} under the current key, ${underRetired} under retired keys, ${unknown} under keys this home does not hold`,
  );
}
