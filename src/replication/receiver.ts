import { createHash } from 'node:crypto';
import { CapsuleError } from '../errors.js';
import type { PropertyValue, Repository, RepositoryNode, RepositoryWriter } from '../repository/index.js';
import { GROUPS_ROOT, USERS_COUNTER, USERS_ROOT, writeUserTombstone } from '../users/index.js';
import { LOCAL_GROUPS, type ContentNodeState, type ReplicationItem, type ReplicationPackage, type UserState } from './package.js';

export const RECEIVED_ROOT = '/var/replication/received';
const USER_TYPE = 'capsule:User';
const GROUP_TYPE = 'capsule:Group';

/** What became of a package: applied now, already applied before (nothing changed), or not the next one. */
export type ReceiveResult =
  | { readonly outcome: 'applied'; readonly sequence: number; readonly items: number }
  | { readonly outcome: 'duplicate'; readonly sequence: number; readonly lastApplied: number }
  | { readonly outcome: 'gap'; readonly sequence: number; readonly expected: number };

export interface Receiver {
  /** Applies the package in one transaction, in order per source, at most once. */
  receive(pkg: ReplicationPackage): Promise<ReceiveResult>;
  /** The last sequence applied per source. */
  sources(): Promise<Array<{ source: string; lastSequence: number; appliedAt: Date | null }>>;
}

function sourcePath(source: string): string {
  return `${RECEIVED_ROOT}/${createHash('sha256').update(source).digest('hex').slice(0, 32)}`;
}

function authorizablePath(root: string, id: string): string {
  return `${root}/${id[0]!.toLowerCase()}/${id}`;
}

function decode(stored: ContentNodeState['properties'][string]): PropertyValue {
  switch (stored.t) {
    case 'date':
      return new Date(stored.v);
    case 'binary':
      return Buffer.from(stored.v, 'base64');
    default:
      return stored.v;
  }
}

async function findUser(tx: RepositoryWriter, id: string): Promise<RepositoryNode | undefined> {
  return (await tx.findByProperty('userId', id, USER_TYPE))[0];
}

async function findGroup(tx: RepositoryWriter, id: string): Promise<RepositoryNode | undefined> {
  return (await tx.findByProperty('groupId', id, GROUP_TYPE))[0];
}

async function ensureGroup(tx: RepositoryWriter, id: string): Promise<RepositoryNode> {
  const existing = await findGroup(tx, id);
  if (existing) return existing;
  if (await findUser(tx, id)) throw new CapsuleError('USER_EXISTS', `group '${id}' cannot be created on this publish: a user of that id exists here`);
  return tx.addNode(authorizablePath(GROUPS_ROOT, id), { type: GROUP_TYPE, properties: { groupId: id, members: [] } });
}

async function setMembership(tx: RepositoryWriter, group: RepositoryNode, userId: string, member: boolean): Promise<void> {
  const members = (group.properties.members as readonly string[] | undefined) ?? [];
  if (members.includes(userId) === member) return;
  const next = member ? [...members, userId] : members.filter((each) => each !== userId);
  await tx.setProperties(group.path, { members: [...new Set(next)].sort() });
}

async function applyUser(tx: RepositoryWriter, id: string, state: UserState | null): Promise<void> {
  let node = await findUser(tx, id);
  const current = await tx.findByProperty('members', id, GROUP_TYPE);
  // An account in a group this publish keeps for itself (its administrators, its transport users)
  // is the publish's own: a package must not set its password, disable or delete it, or a
  // transport login would be as good as an administrator's.
  const local = current.map((group) => group.properties.groupId as string).filter((groupId) => LOCAL_GROUPS.includes(groupId));
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
    externalGroups: state.external ? state.external.groups : null,
  };
  if (!node) {
    if (await findGroup(tx, id)) throw new CapsuleError('USER_EXISTS', `user '${id}' cannot be created on this publish: a group of that id exists here`);
    node = await tx.addNode(authorizablePath(USERS_ROOT, id), { type: USER_TYPE, properties: { userId: id } });
  }
  await tx.setProperties(node.path, properties);
  // Memberships of replicated groups follow the author; the publish's own groups are left alone.
  for (const group of current) {
    const groupId = group.properties.groupId as string;
    if (!LOCAL_GROUPS.includes(groupId) && !state.groups.includes(groupId)) await setMembership(tx, group, id, false);
  }
  for (const groupId of state.groups) await setMembership(tx, await ensureGroup(tx, groupId), id, true);
}

async function applyGroup(tx: RepositoryWriter, id: string, exists: boolean): Promise<void> {
  if (exists) {
    await ensureGroup(tx, id);
    return;
  }
  const node = await findGroup(tx, id);
  if (node) await tx.removeNode(node.path);
}

async function applyContent(tx: RepositoryWriter, item: Extract<ReplicationItem, { type: 'content' }>): Promise<void> {
  if (!item.nodes) {
    await tx.removeNode(item.path);
    return;
  }
  for (const node of item.nodes) {
    if (node.path !== item.path && !node.path.startsWith(`${item.path}/`)) {
      throw new CapsuleError('REPLICATION_PACKAGE_INVALID', `malformed replication package: content node ${node.path} is outside the activated ${item.path}`);
    }
  }
  if (item.deep) await tx.removeNode(item.path); // the subtree becomes exactly what was activated
  for (const node of [...item.nodes].sort((a, b) => a.path.length - b.path.length)) {
    const properties: Record<string, PropertyValue> = {};
    for (const [name, value] of Object.entries(node.properties)) properties[name] = decode(value);
    const existing = await tx.getNode(node.path);
    if (!existing) {
      await tx.addNode(node.path, { type: node.type, properties });
      continue;
    }
    const removed: Record<string, null> = {};
    for (const name of Object.keys(existing.properties)) if (!(name in properties)) removed[name] = null;
    await tx.setProperties(node.path, { ...removed, ...properties });
  }
}

async function applyItem(tx: RepositoryWriter, item: ReplicationItem): Promise<void> {
  switch (item.type) {
    case 'user':
      return applyUser(tx, item.id, item.state);
    case 'group':
      return applyGroup(tx, item.id, item.exists);
    case 'content':
      return applyContent(tx, item);
  }
}

export function createReceiver({ repo, clock }: { repo: Repository; clock: { now(): number } }): Receiver {
  return {
    // The sequence check and every item are in one transaction: a package is applied whole or
    // not at all, and a retried `work` (PostgreSQL) starts again from the same check.
    receive: (pkg) =>
      repo.transaction(async (tx): Promise<ReceiveResult> => {
        const path = sourcePath(pkg.source);
        const state = await tx.getNode(path);
        const last = (state?.properties.lastSequence as number | undefined) ?? 0;
        if (pkg.sequence <= last) return { outcome: 'duplicate', sequence: pkg.sequence, lastApplied: last };
        if (pkg.sequence !== last + 1) return { outcome: 'gap', sequence: pkg.sequence, expected: last + 1 };
        for (const item of pkg.items) await applyItem(tx, item);
        const properties = { source: pkg.source, lastSequence: pkg.sequence, appliedAt: new Date(clock.now()) };
        if (state) await tx.setProperties(path, properties);
        else await tx.addNode(path, { type: 'capsule:ReplicationSource', properties });
        if (pkg.items.some((item) => item.type !== 'content')) await tx.bumpCounter(USERS_COUNTER);
        return { outcome: 'applied', sequence: pkg.sequence, items: pkg.items.length };
      }),

    async sources() {
      return (await repo.getChildren(RECEIVED_ROOT)).map((node) => ({
        source: node.properties.source as string,
        lastSequence: node.properties.lastSequence as number,
        appliedAt: (node.properties.appliedAt as Date | undefined) ?? null,
      }));
    },
  };
}
