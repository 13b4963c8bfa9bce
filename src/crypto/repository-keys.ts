import type { Repository, RepositoryWriter } from '../repository/index.js';
import type { RetiredKey } from './key-files.js';
import { checkKeyBytes, keyId } from './keys.js';

/** Older installations keep their keys as binary properties of this node. */
export const KEY_NODE = '/etc/key';

export interface RepositoryKeys {
  readonly master?: Buffer;
  readonly hmac?: Buffer;
  /**
   * Master keys an import replaced, kept where every author that reads /etc/key sees them
   * (`retiredMaster.<id>`, retired at `retiredMasterAt.<id>`): they decrypt what they protected.
   */
  readonly retiredMaster?: readonly RetiredKey[];
}

const RETIRED_MASTER = 'retiredMaster.';
const RETIRED_MASTER_AT = 'retiredMasterAt.';

/** The keys on `/etc/key`; `mac` is read as an alias of `hmac`. */
export async function readRepositoryKeys(repo: Repository | RepositoryWriter): Promise<RepositoryKeys> {
  const node = await repo.getNode(KEY_NODE);
  if (!node) return {};
  const read = (name: string) => {
    const value = node.properties[name];
    return value instanceof Uint8Array ? checkKeyBytes(value, `the repository property ${KEY_NODE}/${name}`) : undefined;
  };
  const retiredMaster: RetiredKey[] = [];
  for (const name of Object.keys(node.properties).filter((property) => property.startsWith(RETIRED_MASTER)).sort()) {
    const value = node.properties[name];
    // A damaged retired key only decrypts what it protected: it is skipped (doctor names what no
    // longer decrypts), never a reason for every author to stop reading the current keys.
    const key = value instanceof Uint8Array && value.length === 32 ? Buffer.from(value) : undefined;
    const kid = name.slice(RETIRED_MASTER.length);
    // A property named after another key is never taken for the key its name says.
    if (!key || keyId(key) !== kid) continue;
    const at = node.properties[`${RETIRED_MASTER_AT}${kid}`];
    retiredMaster.push({ kid, key, retiredAt: typeof at === 'number' ? at : 0 });
  }
  return { master: read('master'), hmac: read('hmac') ?? read('mac'), retiredMaster };
}

/** Adds retired master keys to /etc/key (which must exist), for every author that reads it. */
export async function writeRepositoryRetiredMasters(tx: RepositoryWriter, retired: ReadonlyArray<{ key: Buffer; retiredAt: number }>): Promise<void> {
  if (retired.length === 0) return;
  const changes: Record<string, Uint8Array | number> = {};
  for (const { key, retiredAt } of retired) {
    changes[`${RETIRED_MASTER}${keyId(key)}`] = key;
    changes[`${RETIRED_MASTER_AT}${keyId(key)}`] = Math.floor(retiredAt); // a long: bundles carry file times with a fraction
  }
  await tx.setProperties(KEY_NODE, changes);
}

export function hasRepositoryKeys(keys: RepositoryKeys): boolean {
  return keys.master !== undefined || keys.hmac !== undefined;
}

export async function writeRepositoryKeys(tx: RepositoryWriter, keys: { master: Buffer; hmac: Buffer }): Promise<void> {
  if (await tx.getNode(KEY_NODE)) await tx.setProperties(KEY_NODE, { master: keys.master, hmac: keys.hmac, mac: null });
  else await tx.addNode(KEY_NODE, { type: 'capsule:Keys', properties: { master: keys.master, hmac: keys.hmac } });
}

export async function removeRepositoryKeys(tx: RepositoryWriter): Promise<void> {
  const node = await tx.getNode(KEY_NODE);
  if (!node) return;
  const isKey = (name: string) => ['master', 'hmac', 'mac'].includes(name) || name.startsWith(RETIRED_MASTER) || name.startsWith(RETIRED_MASTER_AT);
  const rest = Object.keys(node.properties).filter((name) => !isKey(name));
  if (rest.length === 0) await tx.removeNode(KEY_NODE);
  else await tx.setProperties(KEY_NODE, Object.fromEntries(Object.keys(node.properties).filter(isKey).map((name) => [name, null])));
}
