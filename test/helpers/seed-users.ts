import type { Repository, RepositoryNode } from '../../src/repository/index.js';
import { GROUP_TYPE, GROUPS_ROOT, MEMBERSHIP_TYPE, USER_TYPE, USERS_COUNTER, USERS_ROOT } from '../../src/users/index.js';
import { authorizablePath } from '../../src/users/ids.js';
import { membershipPath } from '../../src/users/memberships.js';

/** The id of seeded user `index` (0-based): ids sort as their numbers do. */
export function seededUserId(index: number): string {
  return `user-${String(index).padStart(7, '0')}`;
}

export function seededGroupId(index: number): string {
  return `readers-${index}`;
}

/**
 * `count` users as `createUser` writes them (user node, one membership node each, in one of
 * `groups` groups), written through the repository in big transactions with one password hash
 * computed beforehand: hashing a million passwords would take hours, and a snapshot reads the
 * stored hash, never the password. No outbox items: an author's outbox is pruned once its
 * agents have what it held, so a new publish gets users from the snapshot alone.
 */
export async function seedUsers(
  repo: Repository,
  { count, groups, passwordHash, batch = 20_000, progress }: { count: number; groups: number; passwordHash: string; batch?: number; progress?: (done: number) => void },
): Promise<void> {
  const groupNodes: RepositoryNode[] = await repo.transaction(async (tx) => {
    const made: RepositoryNode[] = [];
    for (let index = 0; index < groups; index++) {
      const groupId = seededGroupId(index);
      made.push(await tx.addNode(`${GROUPS_ROOT}/${groupId[0]}/${groupId}`, { type: GROUP_TYPE, properties: { groupId } }));
    }
    return made;
  });
  for (let first = 0; first < count; first += batch) {
    await repo.transaction(async (tx) => {
      for (let index = first; index < Math.min(count, first + batch); index++) {
        const userId = seededUserId(index);
        await tx.addNode(`${USERS_ROOT}/${userId[0]}/${userId}`, { type: USER_TYPE, properties: { userId, passwordHash, disabled: false, generation: 0 } });
        if (groupNodes.length > 0) {
          const group = groupNodes[index % groupNodes.length]!;
          await tx.addNode(`${group.path}/${userId}`, { type: MEMBERSHIP_TYPE, properties: { member: userId, group: group.properties.groupId as string } });
        }
      }
      await tx.bumpCounter(USERS_COUNTER);
    });
    progress?.(Math.min(count, first + batch));
  }
}

/**
 * `count` local users 'local0000', 'local0001', … made members of the existing group `groupId`,
 * written at once through the repository (no password hashed): a big group whose members sort
 * before the users a test looks for.
 */
export async function seedLocalMembers(repo: Repository, groupId: string, count: number): Promise<void> {
  const group = await repo.getNode(authorizablePath(GROUPS_ROOT, groupId));
  if (!group) throw new Error(`no group ${groupId}`);
  await repo.transaction(async (tx) => {
    for (let index = 0; index < count; index++) {
      const id = `local${String(index).padStart(4, '0')}`;
      await tx.addNode(authorizablePath(USERS_ROOT, id), { type: USER_TYPE, properties: { userId: id, disabled: false, generation: 1 } });
      await tx.addNode(membershipPath(group.path, id), { type: MEMBERSHIP_TYPE, properties: { member: id, group: groupId } });
    }
  });
}
