import { CapsuleError } from '../errors.js';
import type { PropertyValue, RepositoryNode, RepositoryReader, RepositoryWriter } from '../repository/index.js';
import { findGroupNode, findUserNode, groupNodesOf } from './authorizable-nodes.js';
import { authorizablePath } from './ids.js';
import { writeUserTombstone } from './tombstones.js';
import { GROUP_TYPE, GROUPS_ROOT, USER_TYPE, USERS_ROOT } from './types.js';

/**
 * A user as another instance needs it to accept the same logins and tokens: what an author
 * sends and a publish applies (src/replication). Both directions live here, beside the other
 * writers of user nodes, so a new property of a user is added in one folder.
 */
export interface ReplicatedUserState {
  readonly passwordHash?: string;
  readonly disabled: boolean;
  readonly generation: number;
  /** The user's groups, less the groups each instance keeps for itself. */
  readonly groups: readonly string[];
  readonly external?: { readonly provider: string; readonly subject: string; readonly groups: readonly string[] };
}

/** The groups each instance keeps for itself: never sent, never changed by what is received. */
export interface LocalGroups {
  readonly localGroups: readonly string[];
}

export async function readReplicatedUser(reader: RepositoryReader, node: RepositoryNode, { localGroups }: LocalGroups): Promise<ReplicatedUserState> {
  const userId = node.properties.userId as string;
  const groups = (await groupNodesOf(reader, userId))
    .map((group) => group.properties.groupId as string)
    .filter((group) => !localGroups.includes(group))
    .sort();
  const p = node.properties;
  return {
    ...(typeof p.passwordHash === 'string' ? { passwordHash: p.passwordHash } : {}),
    disabled: p.disabled === true,
    generation: typeof p.generation === 'number' ? p.generation : 0,
    groups,
    ...(typeof p.externalProvider === 'string' && typeof p.externalSubject === 'string'
      ? { external: { provider: p.externalProvider, subject: p.externalSubject, groups: [...((p.externalGroups as readonly string[] | undefined) ?? [])] } }
      : {}),
  };
}

async function ensureGroup(tx: RepositoryWriter, id: string): Promise<RepositoryNode> {
  const existing = await findGroupNode(tx, id);
  if (existing) return existing;
  if (await findUserNode(tx, id)) throw new CapsuleError('USER_EXISTS', `group '${id}' cannot be created on this publish: a user of that id exists here`);
  return tx.addNode(authorizablePath(GROUPS_ROOT, id), { type: GROUP_TYPE, properties: { groupId: id, members: [] } });
}

async function setMembership(tx: RepositoryWriter, group: RepositoryNode, userId: string, member: boolean): Promise<void> {
  const members = (group.properties.members as readonly string[] | undefined) ?? [];
  if (members.includes(userId) === member) return;
  const next = member ? [...members, userId] : members.filter((each) => each !== userId);
  await tx.setProperties(group.path, { members: [...new Set(next)].sort() });
}

/**
 * Makes this instance's user `id` what `state` says (null: removed, with a tombstone), inside
 * the caller's transaction. The caller bumps the users counter once for all it applied.
 */
export async function applyReplicatedUser(tx: RepositoryWriter, id: string, state: ReplicatedUserState | null, { localGroups }: LocalGroups): Promise<void> {
  let node = await findUserNode(tx, id);
  const current = await groupNodesOf(tx, id);
  // An account in a group this instance keeps for itself (its administrators, its transport users)
  // is the instance's own: a package must not set its password, disable or delete it, or a
  // transport login would be as good as an administrator's.
  const local = current.map((group) => group.properties.groupId as string).filter((groupId) => localGroups.includes(groupId));
  if (node && local.length > 0) {
    throw new CapsuleError(
      'REPLICATION_PACKAGE_INVALID',
      `user '${id}' is this publish's own account (member of ${local.join(', ')}); replication never changes it; rename or remove one of the two accounts`,
    );
  }
  if (!state) {
    for (const group of current) await setMembership(tx, group, id, false);
    if (node) await tx.removeNode(node.path);
    await writeUserTombstone(tx, id); // so no earlier token's provisioning claim brings it back here
    return;
  }
  const properties: Record<string, PropertyValue | null> = {
    passwordHash: state.passwordHash ?? null,
    disabled: state.disabled,
    generation: state.generation,
    externalProvider: state.external?.provider ?? null,
    externalSubject: state.external?.subject ?? null,
    externalGroups: state.external ? [...state.external.groups] : null,
  };
  if (!node) {
    if (await findGroupNode(tx, id)) throw new CapsuleError('USER_EXISTS', `user '${id}' cannot be created on this publish: a group of that id exists here`);
    node = await tx.addNode(authorizablePath(USERS_ROOT, id), { type: USER_TYPE, properties: { userId: id } });
  }
  await tx.setProperties(node.path, properties);
  // Memberships of replicated groups follow the sender; the instance's own groups are left alone.
  for (const group of current) {
    const groupId = group.properties.groupId as string;
    if (!localGroups.includes(groupId) && !state.groups.includes(groupId)) await setMembership(tx, group, id, false);
  }
  for (const groupId of state.groups) await setMembership(tx, await ensureGroup(tx, groupId), id, true);
}

/** Makes group `id` exist (empty when new) or not, inside the caller's transaction. */
export async function applyReplicatedGroup(tx: RepositoryWriter, id: string, exists: boolean): Promise<void> {
  if (exists) {
    await ensureGroup(tx, id);
    return;
  }
  const node = await findGroupNode(tx, id);
  if (node) await tx.removeNode(node.path);
}
