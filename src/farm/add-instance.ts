import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { bundleKeysOf, keyId, loadKeySet, type KeySet } from '../crypto/index.js';
import { CapsuleError } from '../errors.js';
import { openServices } from '../instance/services.js';
import { writeFileAtomic } from '../support/atomic-file.js';
import { copyUsers, type PasswordHasher } from '../users/index.js';
import { withFarmHomes } from './farm-homes.js';
import { renderHaproxyConfig } from './haproxy-config.js';
import { PUBLISH_PREFIX } from './init.js';
import { prepareInstanceHome } from './instance-home.js';
import { farmPaths, MAX_INSTANCES, writeManifest, type FarmManifest, type FarmPaths } from './manifest.js';

export interface AddedInstance {
  readonly name: string;
  readonly home: string;
  readonly port: number;
  readonly master: string;
  readonly hmac: string;
  readonly users: number;
  readonly groups: number;
  readonly message: string;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function nextMember(manifest: FarmManifest): { name: string; port: number } {
  if (manifest.instances.length >= MAX_INSTANCES) {
    throw new CapsuleError('INVALID_ARGUMENT', `the farm has ${manifest.instances.length} instances, the most a farm may have`);
  }
  const numbers = manifest.instances.map((entry) => Number(/^publish-(\d+)$/.exec(entry.name)?.[1] ?? 0));
  const port = Math.max(manifest.loadBalancer.port, ...manifest.instances.map((entry) => entry.port)) + 1;
  if (port > 65535) throw new CapsuleError('INVALID_ARGUMENT', 'no port is left after the farm\'s highest port; create the farm with a lower --port');
  return { name: `${PUBLISH_PREFIX}${Math.max(0, ...numbers) + 1}`, port };
}

function farmAdminPassword(paths: FarmPaths): string {
  // The copied users replace the admin record anyway; the file only decides the first start's.
  return existsSync(paths.adminPassword) ? readFileSync(paths.adminPassword, 'utf8').trim() : randomBytes(18).toString('base64url');
}

function agreedKeys(sets: ReadonlyArray<{ name: string; keys: KeySet }>, paths: FarmPaths): KeySet {
  const reference = sets[0]!.keys;
  const odd = sets.filter(({ keys }) => !keys.hmac.equals(reference.hmac) || !keys.master.equals(reference.master));
  if (odd.length > 0) {
    throw new CapsuleError('KEY_CONFLICT', `the farm's instances have different keys (${odd.map(({ name }) => name).join(', ')} differ from ${sets[0]!.name}); nothing was added; 'capsule farm status --dir ${paths.root}' says how to fix it`);
  }
  return reference;
}

/**
 * A new instance with the farm's keys (retired and staged HMAC keys included) and a copy of
 * its users and groups, then the manifest and the HAProxy configuration. The home is built
 * under a temporary name and renamed into place, so a failure leaves no half-made instance.
 */
export async function addFarmInstance(dir: string, options: { hasher?: PasswordHasher } = {}): Promise<AddedInstance> {
  const paths = farmPaths(dir);
  return withFarmHomes(paths, options, async (homes, manifest) => {
    const { name, port } = nextMember(manifest);
    const home = join(paths.root, name);
    if (existsSync(home)) throw new CapsuleError('INVALID_ARGUMENT', `${home} exists; move it away before adding ${name}`);
    const sets = [];
    for (const { instance, services } of homes) sets.push({ name: instance.name, keys: await loadKeySet(services.home.keysDir, services.repo) });
    const keys = agreedKeys(sets, paths);
    const source = homes[0]!;
    const building = join(paths.root, `.${name}.partial-${randomBytes(4).toString('hex')}`);
    let copied;
    try {
      await prepareInstanceHome(building, { keys: bundleKeysOf(keys), stagedHmac: keys.stagedHmac, adminPassword: farmAdminPassword(paths), hasher: options.hasher });
      const target = await openServices({ home: building, hasher: options.hasher });
      try {
        copied = await copyUsers(source.services.repo, target.repo);
      } finally {
        await target.close();
      }
      renameSync(building, home);
    } catch (error) {
      rmSync(building, { recursive: true, force: true });
      throw error;
    }
    const updated: FarmManifest = { ...manifest, instances: [...manifest.instances, { name, home: name, port }] };
    // HAProxy's file first: `farm up` acts on the manifest and then reloads HAProxy with this file.
    writeFileAtomic(paths.haproxyConfig, renderHaproxyConfig(updated, paths), 0o644);
    writeManifest(paths, updated);
    return {
      name,
      home,
      port,
      master: keyId(keys.master),
      hmac: keyId(keys.hmac),
      users: copied.users,
      groups: copied.groups,
      message: `added ${name} (${home}, port ${port}) with master ${keyId(keys.master)}, hmac ${keyId(keys.hmac)} and ${plural(copied.users, 'user')} and ${plural(copied.groups, 'group')} copied from ${source.instance.name}; ${paths.haproxyConfig} lists it; a running 'capsule farm up' starts it and reloads HAProxy by itself`,
    };
  });
}
