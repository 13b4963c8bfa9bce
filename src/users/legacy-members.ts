import type { Repository, RepositoryNode } from '../repository/index.js';
import { addMembership } from './memberships.js';
import { GROUP_TYPE, USERS_COUNTER } from './types.js';

/** Where groups kept their members before memberships were nodes of their own (memberships.ts). */
export const LEGACY_MEMBERS = 'members';

export function legacyMembersOf(group: RepositoryNode): readonly string[] {
  return (group.properties[LEGACY_MEMBERS] as readonly string[] | undefined) ?? [];
}

const PAGE = 500;

/**
 * Moves the members a group lists in its `members` property (a repository written before
 * memberships were nodes) to membership nodes, one transaction per group; returns how many
 * groups it moved. Idempotent: a run cut short is finished by the next, and a group already moved
 * is only read. Runs when services open, before anything reads a membership.
 */
export async function moveLegacyMembers(repo: Repository): Promise<number> {
  let moved = 0;
  let after = '';
  for (;;) {
    const page = await repo.findByType(GROUP_TYPE, PAGE, after);
    for (const group of page) {
      if (!(LEGACY_MEMBERS in group.properties)) continue;
      await repo.transaction(async (tx) => {
        const current = await tx.getNodeById(group.id);
        if (!current || !(LEGACY_MEMBERS in current.properties)) return;
        for (const member of legacyMembersOf(current)) await addMembership(tx, current, member);
        await tx.setProperties(current.path, { [LEGACY_MEMBERS]: null });
        await tx.bumpCounter(USERS_COUNTER);
      });
      moved++;
    }
    if (page.length < PAGE) return moved;
    after = page[page.length - 1]!.id;
  }
}
