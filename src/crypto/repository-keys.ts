import type { Repository, RepositoryWriter } from '../repository/index.js';
import { checkKeyBytes } from './keys.js';

/** Older installations keep their keys as binary properties of this node. */
export const KEY_NODE = '/etc/key';

export interface RepositoryKeys {
  readonly master?: Buffer;
  readonly hmac?: Buffer;
}

/** The keys on `/etc/key`; `mac` is read as an alias of `hmac`. */
export async function readRepositoryKeys(repo: Repository | RepositoryWriter): Promise<RepositoryKeys> {
  const node = await repo.getNode(KEY_NODE);
  if (!node) return {};
  const read = (name: string) => {
    const value = node.properties[name];
    return value instanceof Uint8Array ? checkKeyBytes(value, `the repository property ${KEY_NODE}/${name}`) : undefined;
  };
  return { master: read('master'), hmac: read('hmac') ?? read('mac') };
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
  const rest = Object.keys(node.properties).filter((name) => !['master', 'hmac', 'mac'].includes(name));
  if (rest.length === 0) await tx.removeNode(KEY_NODE);
  else await tx.setProperties(KEY_NODE, { master: null, hmac: null, mac: null });
}
