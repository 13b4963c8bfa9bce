import { CapsuleError, isCapsuleError } from '../errors.js';
import type { Repository, RepositoryNode, RepositoryWriter } from '../repository/index.js';
import { authorizablePath, checkId } from './ids.js';
import { userDeletedAt, writeUserTombstone } from './tombstones.js';
import type { PasswordHasher } from './passwords.js';
import {
  GROUP_TYPE,
  GROUPS_ROOT,
  USER_TYPE,
  USERS_COUNTER,
  USERS_ROOT,
  type Group,
  type User,
} from './types.js';

export interface UserManagerDeps {
  readonly repo: Repository;
  readonly hasher: PasswordHasher;
  /** Records each change for replication inside the change's own transaction (see src/replication). */
  readonly outbox?: UserChangeOutbox;
}

/** Where changes to users and groups are written in the same transaction as the change (an outbox). */
export interface UserChangeOutbox {
  userChanged(tx: RepositoryWriter, userId: string): Promise<void>;
  groupChanged(tx: RepositoryWriter, groupId: string): Promise<void>;
}

export interface CreateUserOptions {
  readonly password: string;
  readonly groups?: readonly string[];
}

export type UserChangeListener = (userId: string | null) => void;

export interface UserManager {
  createUser(id: string, options: CreateUserOptions): Promise<User>;
  getUser(id: string): Promise<User | null>;
  listUsers(): Promise<User[]>;
  removeUser(id: string): Promise<void>;
  setPassword(id: string, password: string): Promise<void>;
  setDisabled(id: string, disabled: boolean): Promise<User>;
  /** The user when the password is right and the user enabled; null otherwise, in about the same time. */
  authenticate(id: string, password: string): Promise<User | null>;
  /** Raises the token generation, so encapsulated tokens issued before stop working. */
  incrementGeneration(id: string): Promise<User>;
  createGroup(id: string): Promise<Group>;
  getGroup(id: string): Promise<Group | null>;
  listGroups(): Promise<Group[]>;
  removeGroup(id: string): Promise<void>;
  addMember(groupId: string, userId: string): Promise<Group>;
  removeMember(groupId: string, userId: string): Promise<Group>;
  /** Told of every change made through this manager (the user id, or null for group changes). */
  onChange(listener: UserChangeListener): () => void;
  /**
   * The user of an external identity (OpenID Connect), in one transaction: created without a
   * password when missing (with `generation`, default 0), groups created where missing; with
   * `sync`, the groups it got from the provider re-synced. An id held by a local user or by
   * another identity is refused (USER_EXISTS); a disabled user is returned unchanged.
   */
  provisionExternalUser(id: string, identity: ExternalIdentity, options: { sync: boolean; generation?: number }): Promise<User>;
  /** When a user of this id was last deleted here (see tombstones.ts), or null. */
  deletedAt(id: string): Promise<Date | null>;
}

export interface ExternalIdentity {
  readonly provider: string;
  readonly subject: string;
  readonly groups: readonly string[];
}

function checkPassword(password: string): string {
  if (typeof password !== 'string' || password.length === 0) {
    throw new CapsuleError('INVALID_ARGUMENT', 'the password is empty');
  }
  if (password.length > 1024) {
    throw new CapsuleError('INVALID_ARGUMENT', 'the password is longer than 1024 characters');
  }
  return password;
}

function toGroup(node: RepositoryNode): Group {
  return {
    id: node.properties.groupId as string,
    path: node.path,
    members: (node.properties.members as readonly string[] | undefined) ?? [],
  };
}

/**
 * Every read-then-write (is the id free? is the user a member?) runs inside one
 * `repo.transaction`, which is serializable on every backend and may run its `work` again after
 * a conflict with another process: so `work` only reads and writes through `tx`, and hashing,
 * listeners and anything else with an effect stay outside it.
 */
export function createUserManager({ repo, hasher, outbox }: UserManagerDeps): UserManager {
  const listeners = new Set<UserChangeListener>();
  const recordUser = async (tx: RepositoryWriter, id: string) => outbox?.userChanged(tx, id);
  const recordGroup = async (tx: RepositoryWriter, id: string) => outbox?.groupChanged(tx, id);
  let dummyHash: Promise<string> | undefined;

  function changed(userId: string | null): void {
    for (const listener of listeners) listener(userId);
  }

  async function groupsOf(reader: RepositoryWriter | Repository, userId: string): Promise<string[]> {
    const nodes = await reader.findByProperty('members', userId, GROUP_TYPE);
    return nodes.map((node) => node.properties.groupId as string).sort();
  }

  async function toUser(reader: RepositoryWriter | Repository, node: RepositoryNode): Promise<User> {
    const id = node.properties.userId as string;
    return {
      id,
      path: node.path,
      disabled: node.properties.disabled === true,
      generation: (node.properties.generation as number | undefined) ?? 0,
      groups: await groupsOf(reader, id),
    };
  }

  async function userNode(reader: RepositoryWriter | Repository, id: string): Promise<RepositoryNode | null> {
    const [node] = await reader.findByProperty('userId', id, USER_TYPE);
    return node ?? null;
  }

  async function requireUserNode(reader: RepositoryWriter | Repository, id: string): Promise<RepositoryNode> {
    const node = await userNode(reader, checkId('user', id));
    if (!node) throw new CapsuleError('USER_NOT_FOUND', `no user '${id}'`);
    return node;
  }

  async function groupNode(reader: RepositoryWriter | Repository, id: string): Promise<RepositoryNode | null> {
    const [node] = await reader.findByProperty('groupId', id, GROUP_TYPE);
    return node ?? null;
  }

  async function requireGroupNode(reader: RepositoryWriter | Repository, id: string): Promise<RepositoryNode> {
    const node = await groupNode(reader, checkId('group', id));
    if (!node) throw new CapsuleError('GROUP_NOT_FOUND', `no group '${id}'; create it with 'capsule groups add ${id}'`);
    return node;
  }

  async function ensureIdFree(tx: RepositoryWriter, id: string): Promise<void> {
    if ((await userNode(tx, id)) || (await groupNode(tx, id))) {
      throw new CapsuleError('USER_EXISTS', `a user or group '${id}' already exists`);
    }
  }

  async function setMembers(tx: RepositoryWriter, group: RepositoryNode, members: string[]): Promise<Group> {
    const updated = await tx.setProperties(group.path, { members: [...new Set(members)].sort() });
    await tx.bumpCounter(USERS_COUNTER);
    return toGroup(updated);
  }

  return {
    async createUser(id, { password, groups = [] }) {
      checkId('user', id);
      const passwordHash = await hasher.hash(checkPassword(password));
      const user = await repo.transaction(async (tx) => {
        await ensureIdFree(tx, id);
        const groupNodes = [];
        for (const groupId of groups) groupNodes.push(await requireGroupNode(tx, groupId));
        const node = await tx.addNode(authorizablePath(USERS_ROOT, id), {
          type: USER_TYPE,
          properties: { userId: id, passwordHash, disabled: false, generation: 0 },
        });
        for (const group of groupNodes) {
          await setMembers(tx, group, [...(group.properties.members as string[] | undefined ?? []), id]);
        }
        await recordUser(tx, id);
        await tx.bumpCounter(USERS_COUNTER);
        return toUser(tx, node);
      });
      changed(id);
      return user;
    },

    async getUser(id) {
      const node = await userNode(repo, id);
      return node ? toUser(repo, node) : null;
    },

    async listUsers() {
      const nodes = (await repo.getSubtree(USERS_ROOT)).filter((node) => node.type === USER_TYPE);
      return Promise.all(nodes.map((node) => toUser(repo, node)));
    },

    async removeUser(id) {
      await repo.transaction(async (tx) => {
        const node = await requireUserNode(tx, id);
        for (const group of await tx.findByProperty('members', id, GROUP_TYPE)) {
          await setMembers(
            tx,
            group,
            (group.properties.members as string[]).filter((member) => member !== id),
          );
        }
        await tx.removeNode(node.path);
        await writeUserTombstone(tx, id);
        await recordUser(tx, id);
        await tx.bumpCounter(USERS_COUNTER);
      });
      changed(id);
    },

    async setPassword(id, password) {
      const passwordHash = await hasher.hash(checkPassword(password));
      await repo.transaction(async (tx) => {
        const node = await requireUserNode(tx, id);
        await tx.setProperties(node.path, { passwordHash });
        await recordUser(tx, id);
        await tx.bumpCounter(USERS_COUNTER);
      });
      changed(id);
    },

    async setDisabled(id, disabled) {
      const user = await repo.transaction(async (tx) => {
        const node = await requireUserNode(tx, id);
        const updated = await tx.setProperties(node.path, { disabled });
        await recordUser(tx, id);
        await tx.bumpCounter(USERS_COUNTER);
        return toUser(tx, updated);
      });
      changed(id);
      return user;
    },

    async authenticate(id, password) {
      let node: RepositoryNode | null = null;
      try {
        node = await userNode(repo, checkId('user', id));
      } catch (error) {
        // An invalid id is an unknown user: same answer, same time. A repository that is away is
        // not a wrong password (it would count towards the throttle): that error goes up.
        if (!isCapsuleError(error, 'INVALID_ID')) throw error;
        node = null;
      }
      const stored = node?.properties.passwordHash;
      if (typeof stored !== 'string') {
        dummyHash ??= hasher.hash('capsule-timing-equaliser');
        await hasher.verify(await dummyHash, String(password));
        return null;
      }
      const ok = await hasher.verify(stored, String(password));
      if (!ok || node!.properties.disabled === true) return null;
      return toUser(repo, node!);
    },

    async incrementGeneration(id) {
      const user = await repo.transaction(async (tx) => {
        const node = await requireUserNode(tx, id);
        const generation = ((node.properties.generation as number | undefined) ?? 0) + 1;
        const updated = await tx.setProperties(node.path, { generation });
        await recordUser(tx, id);
        await tx.bumpCounter(USERS_COUNTER);
        return toUser(tx, updated);
      });
      changed(id);
      return user;
    },

    async createGroup(id) {
      checkId('group', id);
      const group = await repo.transaction(async (tx) => {
        await ensureIdFree(tx, id);
        const node = await tx.addNode(authorizablePath(GROUPS_ROOT, id), {
          type: GROUP_TYPE,
          properties: { groupId: id, members: [] },
        });
        await recordGroup(tx, id);
        await tx.bumpCounter(USERS_COUNTER);
        return toGroup(node);
      });
      changed(null);
      return group;
    },

    async getGroup(id) {
      const node = await groupNode(repo, id);
      return node ? toGroup(node) : null;
    },

    async listGroups() {
      const nodes = await repo.getSubtree(GROUPS_ROOT);
      return nodes.filter((node) => node.type === GROUP_TYPE).map(toGroup);
    },

    async removeGroup(id) {
      await repo.transaction(async (tx) => {
        const node = await requireGroupNode(tx, id);
        await tx.removeNode(node.path);
        await recordGroup(tx, id);
        await tx.bumpCounter(USERS_COUNTER);
      });
      changed(null);
    },

    async addMember(groupId, userId) {
      const group = await repo.transaction(async (tx) => {
        const node = await requireGroupNode(tx, groupId);
        await requireUserNode(tx, userId);
        const updated = await setMembers(tx, node, [...toGroup(node).members, userId]);
        await recordUser(tx, userId);
        return updated;
      });
      changed(userId);
      return group;
    },

    async removeMember(groupId, userId) {
      const group = await repo.transaction(async (tx) => {
        const node = await requireGroupNode(tx, groupId);
        checkId('user', userId);
        if (!toGroup(node).members.includes(userId)) {
          throw new CapsuleError('USER_NOT_FOUND', `'${userId}' is not a member of '${groupId}'`);
        }
        const updated = await setMembers(
          tx,
          node,
          toGroup(node).members.filter((member) => member !== userId),
        );
        await recordUser(tx, userId);
        return updated;
      });
      changed(userId);
      return group;
    },

    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    deletedAt: (id) => userDeletedAt(repo, checkId('user', id)),

    async provisionExternalUser(id, identity, { sync, generation = 0 }) {
      checkId('user', id);
      const wanted = [...new Set(identity.groups.map((group) => checkId('group', group)))].sort();
      const work = (tx: RepositoryWriter) => provisionIn(tx, id, identity, wanted, sync, generation);
      let user: User;
      try {
        user = await repo.transaction(work);
      } catch (error) {
        // Two first sign-ins at once on a backend that does not serialise them: the loser sees the winner's user.
        if (!(error instanceof CapsuleError && error.code === 'NODE_EXISTS')) throw error;
        user = await repo.transaction(work);
      }
      changed(id);
      return user;
    },
  };

  async function provisionIn(tx: RepositoryWriter, id: string, identity: ExternalIdentity, wanted: string[], sync: boolean, generation: number): Promise<User> {
    let node = await userNode(tx, id);
    if (node) {
      if (node.properties.externalProvider !== identity.provider || node.properties.externalSubject !== identity.subject) {
        throw new CapsuleError('USER_EXISTS', `user '${id}' exists and is not the account of subject ${identity.subject.slice(0, 64)} at ${identity.provider}`);
      }
      if (!sync || node.properties.disabled === true) return toUser(tx, node);
    } else {
      if (await groupNode(tx, id)) throw new CapsuleError('USER_EXISTS', `a group '${id}' already exists`);
      node = await tx.addNode(authorizablePath(USERS_ROOT, id), {
        type: USER_TYPE,
        properties: { userId: id, disabled: false, generation, externalProvider: identity.provider, externalSubject: identity.subject, externalGroups: [] },
      });
    }
    for (const groupId of wanted) {
      let group = await groupNode(tx, groupId);
      if (!group) {
        if (await userNode(tx, groupId)) throw new CapsuleError('USER_EXISTS', `group '${groupId}' cannot be created: a user of that id exists`);
        group = await tx.addNode(authorizablePath(GROUPS_ROOT, groupId), { type: GROUP_TYPE, properties: { groupId, members: [] } });
        await recordGroup(tx, groupId);
      }
      const members = toGroup(group).members;
      if (!members.includes(id)) await setMembers(tx, group, [...members, id]);
    }
    const before = (node.properties.externalGroups as readonly string[] | undefined) ?? [];
    for (const groupId of before.filter((group) => !wanted.includes(group))) {
      const group = await groupNode(tx, groupId);
      if (group && toGroup(group).members.includes(id)) await setMembers(tx, group, toGroup(group).members.filter((member) => member !== id));
    }
    node = await tx.setProperties(node.path, { externalGroups: wanted });
    await recordUser(tx, id);
    await tx.bumpCounter(USERS_COUNTER);
    return toUser(tx, node);
  }
}
