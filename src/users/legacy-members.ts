import type { Repository, RepositoryNode } from '../repository/index.js';
import { findUserNode } from './authorizable-nodes.js';
import { addMembership } from './memberships.js';
import { GROUP_TYPE, USERS_COUNTER } from './types.js';

/** Where groups kept their members before memberships were nodes of their own (memberships.ts). */
export const LEGACY_MEMBERS = 'members';

export function legacyMembersOf(group: RepositoryNode): readonly string[] {
  return (group.properties[LEGACY_MEMBERS] as readonly string[] | undefined) ?? [];
}

const PAGE = 500;

/** What moving the legacy lists did. */
export interface MovedLegacyMembers {
  /** Groups whose list was moved. */
  readonly groups: number;
  /** One line for each listed member that has no user node: not carried over. */
  readonly skipped: readonly string[];
}

/**
 * Moves the members a group lists in its `members` property (a repository written before
 * memberships were nodes) to membership nodes, one transaction per group. A listed member with
 * no user node is not carried over: its membership would make the next user of that id a member
 * (of `administrators`, say). Idempotent: a run cut short is finished by the next, and a group
 * already moved is only read. Runs when services open, before anything reads a membership.
 */
export async function moveLegacyMembers(repo: Repository): Promise<MovedLegacyMembers> {
  let groups = 0;
  const skipped: string[] = [];
  let after = '';
  for (;;) {
    const page = await repo.findByType(GROUP_TYPE, PAGE, after);
    for (const group of page) {
      if (!(LEGACY_MEMBERS in group.properties)) continue;
      const dropped = await repo.transaction(async (tx) => {
        const left: string[] = [];
        const current = await tx.getNodeById(group.id);
        if (!current || !(LEGACY_MEMBERS in current.properties)) return left;
        for (const member of legacyMembersOf(current)) {
          if (await findUserNode(tx, member)) await addMembership(tx, current, member);
          else left.push(member);
        }
        await tx.setProperties(current.path, { [LEGACY_MEMBERS]: null });
        await tx.bumpCounter(USERS_COUNTER);
        return left;
      });
      const groupId = group.properties.groupId as string;
      for (const member of dropped) skipped.push(`group '${groupId}' listed '${member}', who is no user: the membership was not carried over`);
      groups++;
    }
    if (page.length < PAGE) return { groups, skipped };
    after = page[page.length - 1]!.id;
  }
}
