import { CapsuleError } from '../errors.js';
import type { PropertyValue, RepositoryNode, RepositoryReader, RepositoryWriter } from '../repository/index.js';
import { findGroupNode, findUserNode } from './authorizable-nodes.js';
import { addMembership, groupIdsOf, membershipsOf, removeMembershipsOf } from './memberships.js';
import { authorizablePath } from './ids.js';
import { writeUserTombstone } from './tombstones.js';
import { PROVIDER_SUBJECT, PROVIDER_USER, providerSubjectKey, providerUserKey } from './provider-users.js';
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
  const groups = (await groupIdsOf(reader, node.properties.userId as string)).filter((group) => !localGroups.includes(group));
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

/** How a package is applied: the instance's own groups, and where a long apply may let the event loop run. */
export interface ApplyOptions extends LocalGroups {
  /** Called after each membership written; the receiver lets other work run there now and then. */
  readonly yieldPoint?: () => Promise<void>;
}

async function ensureGroup(tx: RepositoryWriter, id: string): Promise<RepositoryNode> {
  const existing = await findGroupNode(tx, id);
  if (existing) return existing;
  if (await findUserNode(tx, id)) throw new CapsuleError('USER_EXISTS', `group '${id}' cannot be created on this publish: a user of that id exists here`);
  return tx.addNode(authorizablePath(GROUPS_ROOT, id), { type: GROUP_TYPE, properties: { groupId: id } });
}

/**
 * Makes this instance's user `id` what `state` says (null: removed, with a tombstone), inside
 * the caller's transaction. The caller bumps the users counter once for all it applied. Each
 * membership is one node (memberships.ts): the cost is that of the user's groups that changed,
 * whatever the size of the groups.
 */
export async function applyReplicatedUser(tx: RepositoryWriter, id: string, state: ReplicatedUserState | null, { localGroups, yieldPoint }: ApplyOptions): Promise<void> {
  let node = await findUserNode(tx, id);
  if (!node) {
    // Memberships without their user (left by an older Capsule, a rollback, a legacy list) are
    // no account of this instance's: they go, and a user created here starts with the package's groups.
    await removeMembershipsOf(tx, id);
  }
  const current = node ? await membershipsOf(tx, id) : [];
  // An account in a group this instance keeps for itself (its administrators, its transport users)
  // is the instance's own: a package must not set its password, disable or delete it, or a
  // transport login would be as good as an administrator's.
  const local = current.map((membership) => membership.groupId).filter((groupId) => localGroups.includes(groupId));
  if (local.length > 0) {
    throw new CapsuleError(
      'REPLICATION_PACKAGE_INVALID',
      `user '${id}' is this publish's own account (member of ${local.join(', ')}); replication never changes it; rename or remove one of the two accounts`,
    );
  }
  if (!state) {
    for (const membership of current) {
      await tx.removeNode(membership.path);
      await yieldPoint?.();
    }
    if (node) await tx.removeNode(node.path);
    await writeUserTombstone(tx, id, node ? ((node.properties.generation as number | undefined) ?? 0) : undefined); // so no earlier token's provisioning claim brings it back here
    return;
  }
  const properties: Record<string, PropertyValue | null> = {
    passwordHash: state.passwordHash ?? null,
    disabled: state.disabled,
    generation: state.generation,
    externalProvider: state.external?.provider ?? null,
    externalSubject: state.external?.subject ?? null,
    externalGroups: state.external ? [...state.external.groups] : null,
    [PROVIDER_USER]: state.external ? providerUserKey(state.external.provider, id) : null,
    [PROVIDER_SUBJECT]: state.external ? providerSubjectKey(state.external.provider, state.external.subject) : null,
  };
  if (!node) {
    if (await findGroupNode(tx, id)) throw new CapsuleError('USER_EXISTS', `user '${id}' cannot be created on this publish: a group of that id exists here`);
    // Made with its properties in one write: a backfill makes a million of them.
    const given = Object.fromEntries(Object.entries(properties).filter((entry): entry is [string, PropertyValue] => entry[1] !== null));
    node = await tx.addNode(authorizablePath(USERS_ROOT, id), { type: USER_TYPE, properties: { userId: id, ...given } });
  } else {
    await tx.setProperties(node.path, properties);
  }
  // Memberships of replicated groups follow the sender; the instance's own groups are left alone.
  const wanted = new Set(state.groups);
  const held = new Set<string>();
  for (const membership of current) {
    held.add(membership.groupId);
    if (!localGroups.includes(membership.groupId) && !wanted.has(membership.groupId)) {
      await tx.removeNode(membership.path);
      await yieldPoint?.();
    }
  }
  for (const groupId of wanted) {
    if (held.has(groupId)) continue;
    await addMembership(tx, await ensureGroup(tx, groupId), id);
    await yieldPoint?.();
  }
}

/** Makes group `id` exist (empty when new) or not, inside the caller's transaction; its memberships go with it. */
export async function applyReplicatedGroup(tx: RepositoryWriter, id: string, exists: boolean): Promise<void> {
  if (exists) {
    await ensureGroup(tx, id);
    return;
  }
  const node = await findGroupNode(tx, id);
  if (node) await tx.removeNode(node.path);
}
