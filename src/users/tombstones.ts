import type { RepositoryReader, RepositoryWriter } from '../repository/index.js';
import { authorizablePath } from './ids.js';

/**
 * When a user was deleted. A token issued before then may carry a claim that would create the
 * user again on an instance that lacks it (an OpenID Connect sign-in, auth/oidc/provisioning.ts):
 * the tombstone says the record is gone on purpose. The time is the node's own (the repository
 * clock), renewed by every deletion of that id.
 */
export const DELETED_USERS_ROOT = '/var/deleted-users';
const TOMBSTONE_TYPE = 'capsule:DeletedUser';

/**
 * Records the deletion, with the deleted user's token generation (when it had a node here): a user
 * created again with this id starts past it (`firstGeneration`), so no token of the one deleted
 * (whose claims name the old generation) is taken for the new one's, and neither are its sessions.
 */
export async function writeUserTombstone(tx: RepositoryWriter, id: string, generation?: number): Promise<void> {
  const path = authorizablePath(DELETED_USERS_ROOT, id);
  const existing = await tx.getNode(path);
  const before = existing?.properties.generation;
  const highest = Math.max(typeof before === 'number' ? before : -1, generation ?? -1);
  const properties = { userId: id, ...(highest >= 0 ? { generation: highest } : {}) };
  if (existing) await tx.setProperties(path, properties);
  else await tx.addNode(path, { type: TOMBSTONE_TYPE, properties });
}

/** The generation a user created with this id starts at: past every deleted user's of the same id. */
export async function firstGeneration(reader: RepositoryReader, id: string): Promise<number> {
  const generation = (await reader.getNode(authorizablePath(DELETED_USERS_ROOT, id)))?.properties.generation;
  return typeof generation === 'number' ? generation + 1 : 0;
}

/** The last time the user of this id was deleted here, or null. */
export async function userDeletedAt(reader: RepositoryReader, id: string): Promise<Date | null> {
  return (await reader.getNode(authorizablePath(DELETED_USERS_ROOT, id)))?.modified ?? null;
}
