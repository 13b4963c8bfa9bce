import type { RepositoryNode, RepositoryReader, RepositoryWriter } from '../repository/index.js';

/**
 * Group membership, one node per (group, member) under the group's node:
 * `/home/groups/e/editors/alice` of type capsule:Membership, `member` indexed. Adding or removing
 * a member writes that one node, whatever the size of the group: a list property on the group
 * was rewritten and re-indexed whole for each member added, so a package of 500 members cost
 * time in proportion to the group's size, and filling a group took time in its square. Removing a
 * group removes its memberships with it (they are below it).
 */
export const MEMBERSHIP_TYPE = 'capsule:Membership';

/** The indexed property of a membership that names the member (a user id). */
const MEMBER = 'member';

/** A group and a member, as a membership node says. */
export interface Membership {
  readonly groupId: string;
  /** The membership's own node (below its group's). */
  readonly path: string;
}

export function membershipPath(groupPath: string, userId: string): string {
  return `${groupPath}/${userId}`;
}

function groupPathOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/'));
}

function toMembership(node: RepositoryNode): Membership {
  return { groupId: node.properties.group as string, path: node.path };
}

/** The groups `userId` is a member of (one indexed read). */
export async function membershipsOf(reader: RepositoryReader, userId: string): Promise<Membership[]> {
  return (await reader.findByProperty(MEMBER, userId, MEMBERSHIP_TYPE)).map(toMembership);
}

/**
 * Removes every membership of `userId`. Called before a user node is created: a membership can
 * outlive its user (an older Capsule removed the user on a moved repository, a rollback, a
 * legacy list naming no user), and a new user of that id starts with exactly the groups it is
 * given, never an earlier account's administrators.
 */
export async function removeMembershipsOf(tx: RepositoryWriter, userId: string): Promise<void> {
  for (const membership of await membershipsOf(tx, userId)) await tx.removeNode(membership.path);
}

/** The ids of the groups `userId` is a member of, sorted. */
export async function groupIdsOf(reader: RepositoryReader, userId: string): Promise<string[]> {
  return (await membershipsOf(reader, userId)).map((membership) => membership.groupId).sort();
}

/** The members of the group at `groupPath`, sorted. */
export async function membersOf(reader: RepositoryReader, groupPath: string): Promise<string[]> {
  return (await reader.getChildren(groupPath))
    .filter((node) => node.type === MEMBERSHIP_TYPE)
    .map((node) => node.properties[MEMBER] as string)
    .sort();
}

/** The members of each group among `nodes` (a subtree that holds the groups and their memberships), sorted, by group path. */
export function membersByGroup(nodes: readonly RepositoryNode[]): Map<string, string[]> {
  const byGroup = new Map<string, string[]>();
  for (const node of nodes) {
    if (node.type !== MEMBERSHIP_TYPE) continue;
    const groupPath = groupPathOf(node.path);
    const members = byGroup.get(groupPath);
    if (members) members.push(node.properties[MEMBER] as string);
    else byGroup.set(groupPath, [node.properties[MEMBER] as string]);
  }
  for (const members of byGroup.values()) members.sort();
  return byGroup;
}

/** Makes `userId` a member of `group` (a group node); false when it was one already. */
export async function addMembership(tx: RepositoryWriter, group: RepositoryNode, userId: string): Promise<boolean> {
  const path = membershipPath(group.path, userId);
  if (await tx.getNode(path)) return false;
  await tx.addNode(path, { type: MEMBERSHIP_TYPE, properties: { [MEMBER]: userId, group: group.properties.groupId as string } });
  return true;
}

/** Ends `userId`'s membership of the group at `groupPath`; false when it was none. */
export function removeMembership(tx: RepositoryWriter, groupPath: string, userId: string): Promise<boolean> {
  return tx.removeNode(membershipPath(groupPath, userId));
}
