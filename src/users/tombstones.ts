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

export async function writeUserTombstone(tx: RepositoryWriter, id: string): Promise<void> {
  const path = authorizablePath(DELETED_USERS_ROOT, id);
  if (await tx.getNode(path)) await tx.setProperties(path, { userId: id });
  else await tx.addNode(path, { type: TOMBSTONE_TYPE, properties: { userId: id } });
}

/** The last time the user of this id was deleted here, or null. */
export async function userDeletedAt(reader: RepositoryReader, id: string): Promise<Date | null> {
  return (await reader.getNode(authorizablePath(DELETED_USERS_ROOT, id)))?.modified ?? null;
}
