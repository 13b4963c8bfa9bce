import type { RepositoryNode, RepositoryReader } from '../repository/index.js';
import type { Group } from './types.js';
import { GROUP_TYPE, USER_TYPE } from './types.js';

/** The node lookups every writer of users and groups shares (the manager, replicated state). */

export async function findUserNode(reader: RepositoryReader, id: string): Promise<RepositoryNode | null> {
  const [node] = await reader.findByProperty('userId', id, USER_TYPE);
  return node ?? null;
}

export async function findGroupNode(reader: RepositoryReader, id: string): Promise<RepositoryNode | null> {
  const [node] = await reader.findByProperty('groupId', id, GROUP_TYPE);
  return node ?? null;
}

/** The groups that list `userId` as a member. */
export function groupNodesOf(reader: RepositoryReader, userId: string): Promise<RepositoryNode[]> {
  return reader.findByProperty('members', userId, GROUP_TYPE);
}

export function toGroup(node: RepositoryNode): Group {
  return {
    id: node.properties.groupId as string,
    path: node.path,
    members: (node.properties.members as readonly string[] | undefined) ?? [],
  };
}
