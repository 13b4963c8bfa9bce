import type { Repository, RepositoryNode, RepositoryWriter } from '../repository/index.js';
import { authorizablePath } from './ids.js';
import { legacyMembersOf, LEGACY_MEMBERS } from './legacy-members.js';
import { addMembership, membersByGroup, membersOf, removeMembership, removeMembershipsOf } from './memberships.js';
import { GROUP_TYPE, GROUPS_ROOT, USER_TYPE, USERS_COUNTER, USERS_ROOT } from './types.js';

export interface CopiedUsers {
  readonly users: number;
  readonly groups: number;
}

async function subtree(repo: Repository, root: string): Promise<RepositoryNode[]> {
  return repo.getSubtree(root).catch(() => []); // no such root yet: nothing to copy
}

/** Writes `properties` onto the target's node of the same id, or a new node; returns the target's node. */
async function upsert(tx: RepositoryWriter, root: string, idProperty: string, source: RepositoryNode, properties: RepositoryNode['properties']): Promise<RepositoryNode> {
  const id = source.properties[idProperty] as string;
  const [existing] = await tx.findByProperty(idProperty, id, source.type);
  if (existing) {
    const removed = Object.fromEntries(Object.keys(existing.properties).filter((name) => !(name in properties)).map((name) => [name, null]));
    return tx.setProperties(existing.path, { ...removed, ...properties });
  }
  // A user new to the target has only the memberships copied for it, none an earlier account of that id left behind.
  if (source.type === USER_TYPE) await removeMembershipsOf(tx, id);
  return tx.addNode(authorizablePath(root, id), { type: source.type, properties });
}

/**
 * Copies every user (password hash, state and token generation included) and every group (with
 * its members) from one repository to another, in one transaction, so a new farm instance
 * accepts the same logins and the same encapsulated tokens. Existing users and groups of the
 * same id are overwritten (a group's members become the source's); others are left alone. Tokens
 * are not copied. A source from before memberships were nodes (its groups list their members) is
 * read as well.
 */
export async function copyUsers(source: Repository, target: Repository): Promise<CopiedUsers> {
  const users = (await subtree(source, USERS_ROOT)).filter((node) => node.type === USER_TYPE);
  const groupTree = await subtree(source, GROUPS_ROOT);
  const members = membersByGroup(groupTree);
  const groups = groupTree.filter((node) => node.type === GROUP_TYPE);
  await target.transaction(async (tx) => {
    for (const user of users) await upsert(tx, USERS_ROOT, 'userId', user, user.properties);
    for (const group of groups) {
      const { [LEGACY_MEMBERS]: _legacy, ...properties } = group.properties;
      const copied = await upsert(tx, GROUPS_ROOT, 'groupId', group, properties);
      const wanted = new Set([...(members.get(group.path) ?? []), ...legacyMembersOf(group)]);
      for (const member of await membersOf(tx, copied.path)) if (!wanted.has(member)) await removeMembership(tx, copied.path, member);
      for (const member of wanted) await addMembership(tx, copied, member);
    }
    await tx.bumpCounter(USERS_COUNTER);
  });
  return { users: users.length, groups: groups.length };
}
