import type { RepositoryNode, RepositoryReader } from '../repository/index.js';
import { membersOf } from './memberships.js';
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

export async function toGroup(reader: RepositoryReader, node: RepositoryNode): Promise<Group> {
  return { id: node.properties.groupId as string, path: node.path, members: await membersOf(reader, node.path) };
}
