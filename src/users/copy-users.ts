import type { Repository, RepositoryNode, RepositoryWriter } from '../repository/index.js';
import { authorizablePath } from './ids.js';
import { GROUP_TYPE, GROUPS_ROOT, USER_TYPE, USERS_COUNTER, USERS_ROOT } from './types.js';

export interface CopiedUsers {
  readonly users: number;
  readonly groups: number;
}

async function authorizables(repo: Repository, root: string, type: string): Promise<RepositoryNode[]> {
  const nodes = await repo.getSubtree(root).catch(() => []); // no such root yet: nothing to copy
  return nodes.filter((node) => node.type === type);
}

/** Writes `source`'s properties onto the target's node of the same id, or a new node. */
async function upsert(tx: RepositoryWriter, root: string, idProperty: string, source: RepositoryNode): Promise<void> {
  const id = source.properties[idProperty] as string;
  const [existing] = await tx.findByProperty(idProperty, id, source.type);
  if (existing) {
    const removed = Object.fromEntries(Object.keys(existing.properties).filter((name) => !(name in source.properties)).map((name) => [name, null]));
    await tx.setProperties(existing.path, { ...removed, ...source.properties });
  } else {
    await tx.addNode(authorizablePath(root, id), { type: source.type, properties: source.properties });
  }
}

/**
 * Copies every user (password hash, state and token generation included) and every group (with
 * its members) from one repository to another, in one transaction, so a new farm instance
 * accepts the same logins and the same encapsulated tokens. Existing users and groups of the
 * same id are overwritten; others are left alone. Tokens are not copied.
 */
export async function copyUsers(source: Repository, target: Repository): Promise<CopiedUsers> {
  const users = await authorizables(source, USERS_ROOT, USER_TYPE);
  const groups = await authorizables(source, GROUPS_ROOT, GROUP_TYPE);
  await target.transaction(async (tx) => {
    for (const user of users) await upsert(tx, USERS_ROOT, 'userId', user);
    for (const group of groups) await upsert(tx, GROUPS_ROOT, 'groupId', group);
    await tx.bumpCounter(USERS_COUNTER);
  });
  return { users: users.length, groups: groups.length };
}
