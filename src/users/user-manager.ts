import { CapsuleError, isCapsuleError } from '../errors.js';
import type { Repository, RepositoryNode, RepositoryWriter } from '../repository/index.js';
import { findGroupNode, findUserNode, toGroup } from './authorizable-nodes.js';
import { addMembership, groupIdsOf, MEMBERSHIP_TYPE, membersByGroup, removeMembership, removeMembershipsOf } from './memberships.js';
import { PROVIDER_SUBJECT, PROVIDER_USER, providerSubjectKey, providerUserKey } from './provider-users.js';
import { createCountCache } from './counts.js';
import { authorizablePath, checkId } from './ids.js';
import { firstGeneration, userDeletedAt, writeUserTombstone } from './tombstones.js';
import type { PasswordHasher } from './passwords.js';
import { checkNewPassword, DEFAULT_PASSWORD_POLICY, MAX_PASSWORD_LENGTH, type PasswordPolicy } from './password-policy.js';
import {
  GROUP_TYPE,
  GROUPS_ROOT,
  USER_TYPE,
  USERS_COUNTER,
  USERS_ROOT,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type Group,
  type GroupPage,
  type GroupQuery,
  type User,
  type UserPage,
  type UserQuery,
} from './types.js';

export interface UserManagerDeps {
  readonly repo: Repository;
  readonly hasher: PasswordHasher;
  /** Records each change for replication inside the change's own transaction (see src/replication). */
  readonly outbox?: UserChangeOutbox;
  /** The policy a new password must meet, read each time one is set (so a configuration change applies at once). */
  readonly passwordPolicy?: () => PasswordPolicy;
}

/** Where changes to users and groups are written in the same transaction as the change (an outbox). */
export interface UserChangeOutbox {
  userChanged(tx: RepositoryWriter, userId: string): Promise<void>;
  groupChanged(tx: RepositoryWriter, groupId: string): Promise<void>;
}

export interface CreateUserOptions {
  readonly password: string;
  readonly groups?: readonly string[];
  /** Create the groups that do not exist yet, in the same transaction (default: refuse them). */
  readonly createGroups?: boolean;
}

export type UserChangeListener = (userId: string | null) => void;

export interface UserManager {
  createUser(id: string, options: CreateUserOptions): Promise<User>;
  getUser(id: string): Promise<User | null>;
  /** Every user: reads them all. Prefer `findUsers`, which reads one page. */
  listUsers(): Promise<User[]>;
  /** One page of users in id order, filtered (UserQuery); `limit` is clamped to 1..MAX_PAGE_SIZE. */
  findUsers(query?: UserQuery): Promise<UserPage>;
  /** How many users there are, without reading them. */
  countUsers(): Promise<number>;
  /** How many groups there are, without reading them. */
  countGroups(): Promise<number>;
  removeUser(id: string): Promise<void>;
  setPassword(id: string, password: string): Promise<void>;
  setDisabled(id: string, disabled: boolean): Promise<User>;
  /** The user when the password is right and the user enabled; null otherwise, in about the same time. */
  authenticate(id: string, password: string): Promise<User | null>;
  /** Takes the time a wrong password takes, looking at no account: for a login refused before its check. */
  wrongPasswordTime(password: string): Promise<void>;
  /** Raises the token generation, so encapsulated tokens issued before stop working. */
  incrementGeneration(id: string): Promise<User>;
  createGroup(id: string): Promise<Group>;
  getGroup(id: string): Promise<Group | null>;
  listGroups(): Promise<Group[]>;
  /** One page of groups in id order, with member counts. */
  findGroups(query?: GroupQuery): Promise<GroupPage>;
  removeGroup(id: string): Promise<void>;
  addMember(groupId: string, userId: string): Promise<Group>;
  removeMember(groupId: string, userId: string): Promise<Group>;
  /** Told of every change made through this manager (the user id, or null for group changes). */
  onChange(listener: UserChangeListener): () => void;
  /**
   * The user of an external identity (OpenID Connect), in one transaction: created without a
   * password when missing (with `generation`: a token claim's; without, past any deleted user's of that id), groups created where missing; with
   * `sync`, the groups it got from the provider re-synced. An id held by a local user or by
   * another identity is refused (USER_EXISTS); a disabled user is returned unchanged.
   */
  provisionExternalUser(id: string, identity: ExternalIdentity, options: { sync: boolean; generation?: number }): Promise<User>;
  /** When a user of this id was last deleted here (see tombstones.ts), or null. */
  deletedAt(id: string): Promise<Date | null>;
  /** The provider and subject a user was provisioned for (provisionExternalUser), or null for a local or missing user. */
  externalIdentityOf(id: string): Promise<{ readonly provider: string; readonly subject: string } | null>;
  /**
   * The ids of the users `provider` provisioned for `subject`, in id order; usually one, none for
   * an unknown subject: one lookup of an index, whatever the number of users. There are two when
   * the id came from an attribute that changed, so that a later sign-in made another user of the
   * same person; an identity provider's logout must end both.
   */
  findExternalUsers(provider: string, subject: string): Promise<readonly string[]>;
}

export interface ExternalIdentity {
  readonly provider: string;
  readonly subject: string;
  readonly groups: readonly string[];
}


type ChangeSubject = { readonly user: string } | { readonly group: string };

/**
 * Every read-then-write (is the id free? is the user a member?) runs inside one
 * `repo.transaction`, which is serializable on every backend and may run its `work` again after
 * a conflict with another process: so `work` only reads and writes through `tx`, and hashing,
 * listeners and anything else with an effect stay outside it.
 */
export function createUserManager({ repo, hasher, outbox, passwordPolicy = () => DEFAULT_PASSWORD_POLICY }: UserManagerDeps): UserManager {
  const listeners = new Set<UserChangeListener>();
  const counted = createCountCache(repo);
  let dummyHash: Promise<string> | undefined;

  /**
   * One change to users or groups: `work` in a transaction (which may run it again), the change
   * recorded in the outbox and the users counter bumped in that same transaction, then the
   * listeners told (a user change names the user; a group change names no one).
   */
  async function mutate<T>(subject: ChangeSubject, work: (tx: RepositoryWriter) => Promise<T>): Promise<T> {
    const result = await repo.transaction(async (tx) => {
      const value = await work(tx);
      await record(tx, subject);
      return value;
    });
    notify(subject);
    return result;
  }

  async function record(tx: RepositoryWriter, subject: ChangeSubject): Promise<void> {
    if ('user' in subject) await outbox?.userChanged(tx, subject.user);
    else await outbox?.groupChanged(tx, subject.group);
    await tx.bumpCounter(USERS_COUNTER);
  }

  function notify(subject: ChangeSubject): void {
    for (const listener of listeners) listener('user' in subject ? subject.user : null);
  }

  async function toUser(reader: RepositoryWriter | Repository, node: RepositoryNode): Promise<User> {
    const id = node.properties.userId as string;
    return {
      id,
      path: node.path,
      disabled: node.properties.disabled === true,
      generation: (node.properties.generation as number | undefined) ?? 0,
      groups: await groupIdsOf(reader, id),
    };
  }

  async function requireUserNode(reader: RepositoryWriter | Repository, id: string): Promise<RepositoryNode> {
    const node = await findUserNode(reader, checkId('user', id));
    if (!node) throw new CapsuleError('USER_NOT_FOUND', `no user '${id}'`);
    return node;
  }

  async function requireGroupNode(reader: RepositoryWriter | Repository, id: string): Promise<RepositoryNode> {
    const node = await findGroupNode(reader, checkId('group', id));
    if (!node) throw new CapsuleError('GROUP_NOT_FOUND', `no group '${id}'; create it with 'capsule groups add ${id}'`);
    return node;
  }

  async function ensureIdFree(tx: RepositoryWriter, id: string): Promise<void> {
    if ((await findUserNode(tx, id)) || (await findGroupNode(tx, id))) {
      throw new CapsuleError('USER_EXISTS', `a user or group '${id}' already exists`);
    }
  }

  async function userCandidates({ prefix, group, provider }: UserQuery): Promise<UserCandidates> {
    if (group !== undefined) {
      const groupPath = (await requireGroupNode(repo, group)).path;
      // A membership is named by its user's id (memberships.ts); it may outlive its user.
      return async (after, count) =>
        Promise.all(
          (await repo.getChildrenRange(groupPath, { prefix, after, limit: count, type: MEMBERSHIP_TYPE })).map(async (membership) => ({
            id: membership.name,
            node: await findUserNode(repo, membership.name),
          })),
        );
    }
    if (provider !== undefined) {
      const key = (id: string) => providerUserKey(provider, id);
      return async (after, count) =>
        (await repo.findByPropertyRange(PROVIDER_USER, { prefix: key(prefix ?? ''), after: after === undefined ? undefined : key(after), limit: count, type: USER_TYPE })).map(
          (node) => ({ id: node.properties.userId as string, node }),
        );
    }
    return async (after, count) =>
      (await repo.findByPropertyRange('userId', { prefix, after, limit: count, type: USER_TYPE })).map((node) => ({ id: node.properties.userId as string, node }));
  }

  const manager: UserManager = {
    async createUser(id, { password, groups = [], createGroups = false }) {
      checkId('user', id);
      for (const groupId of groups) checkId('group', groupId);
      const passwordHash = await hasher.hash(await checkNewPassword(password, passwordPolicy()));
      return mutate({ user: id }, async (tx) => {
        await ensureIdFree(tx, id);
        const groupNodes = [];
        for (const groupId of new Set(groups)) {
          const existing = createGroups ? await findGroupNode(tx, groupId) : await requireGroupNode(tx, groupId);
          if (existing) {
            groupNodes.push(existing);
            continue;
          }
          if (groupId === id || (await findUserNode(tx, groupId))) throw new CapsuleError('USER_EXISTS', `group '${groupId}' cannot be created: a user of that id exists`);
          groupNodes.push(await tx.addNode(authorizablePath(GROUPS_ROOT, groupId), { type: GROUP_TYPE, properties: { groupId } }));
          await record(tx, { group: groupId });
        }
        await removeMembershipsOf(tx, id);
        const node = await tx.addNode(authorizablePath(USERS_ROOT, id), {
          type: USER_TYPE,
          properties: { userId: id, passwordHash, disabled: false, generation: await firstGeneration(tx, id) },
        });
        for (const group of groupNodes) await addMembership(tx, group, id);
        return toUser(tx, node);
      });
    },

    async getUser(id) {
      const node = await findUserNode(repo, id);
      return node ? toUser(repo, node) : null;
    },

    async listUsers() {
      const nodes = (await repo.getSubtree(USERS_ROOT)).filter((node) => node.type === USER_TYPE);
      return Promise.all(nodes.map((node) => toUser(repo, node)));
    },

    // Each filter is a range of an index read a page at a time (see userCandidates): the cost
    // is that of the page, not of the users there are. Group and provider together read the
    // group's members until a page of the provider's is full, but at most `examinedPerPage` of
    // them: a big group with few users of that provider would otherwise be read whole in one
    // call. A page cut short that way ends at the last member examined (`next`), so it may be
    // short, even empty, and still have a next one.
    async findUsers(query = {}) {
      const limit = pageLimit(query.limit);
      const budget = examinedPerPage(limit);
      const candidates = await userCandidates(query);
      const found: User[] = [];
      let after = query.after;
      let examined = 0;
      while (found.length <= limit) {
        if (examined >= budget && after !== undefined) return { users: found, next: after };
        const wanted = Math.min(limit + 1 - found.length, budget - examined);
        const batch = await candidates(after, wanted);
        examined += batch.length;
        for (const { node } of batch) {
          if (!node) continue;
          if (query.group !== undefined && query.provider !== undefined && node.properties.externalProvider !== query.provider) continue;
          found.push(await toUser(repo, node));
        }
        if (batch.length < wanted) break;
        after = batch[batch.length - 1]!.id;
      }
      const users = found.slice(0, limit);
      return { users, next: found.length > limit ? users[users.length - 1]!.id : null };
    },

    countUsers: () => counted(USER_TYPE, () => repo.countByType(USER_TYPE)),
    countGroups: () => counted(GROUP_TYPE, () => repo.countByType(GROUP_TYPE)),

    async findGroups(query = {}) {
      const limit = pageLimit(query.limit);
      const nodes = await repo.findByPropertyRange('groupId', { prefix: query.prefix, after: query.after, limit: limit + 1, type: GROUP_TYPE });
      const groups = await Promise.all(
        nodes.slice(0, limit).map(async (node) => ({
          id: node.properties.groupId as string,
          path: node.path,
          memberCount: await counted(node.path, () => repo.countChildren(node.path, MEMBERSHIP_TYPE)),
        })),
      );
      return { groups, next: nodes.length > limit ? groups[groups.length - 1]!.id : null };
    },

    async removeUser(id) {
      await mutate({ user: id }, async (tx) => {
        const node = await requireUserNode(tx, id);
        await removeMembershipsOf(tx, id);
        await tx.removeNode(node.path);
        await writeUserTombstone(tx, id, (node.properties.generation as number | undefined) ?? 0);
      });
    },

    async setPassword(id, password) {
      const passwordHash = await hasher.hash(await checkNewPassword(password, passwordPolicy()));
      await mutate({ user: id }, async (tx) => {
        const node = await requireUserNode(tx, id);
        // A new password ends every token and session of before (a thief's too); see the console's own-password change.
        const generation = ((node.properties.generation as number | undefined) ?? 0) + 1;
        await tx.setProperties(node.path, { passwordHash, generation });
      });
    },

    setDisabled: (id, disabled) =>
      mutate({ user: id }, async (tx) => {
        const node = await requireUserNode(tx, id);
        // Disabling ends every token and session for good: enabled again, the user signs in anew.
        const generation = ((node.properties.generation as number | undefined) ?? 0) + (disabled && node.properties.disabled !== true ? 1 : 0);
        return toUser(tx, await tx.setProperties(node.path, { disabled, generation }));
      }),

    async wrongPasswordTime(password) {
      dummyHash ??= hasher.hash('capsule-timing-equaliser');
      await hasher.verify(await dummyHash, String(password).slice(0, MAX_PASSWORD_LENGTH));
    },

    async authenticate(id, password) {
      let node: RepositoryNode | null = null;
      try {
        node = await findUserNode(repo, checkId('user', id));
      } catch (error) {
        // An invalid id is an unknown user: same answer, same time. A repository that is away is
        // not a wrong password (it would count towards the throttle): that error goes up.
        if (!isCapsuleError(error, 'INVALID_ID')) throw error;
        node = null;
      }
      const stored = node?.properties.passwordHash;
      // A password no one can have is not hashed whole (a megabyte per guess), but the answer takes
      // the time of a wrong one, so its length tells nothing about the account.
      if (typeof stored !== 'string' || String(password).length > MAX_PASSWORD_LENGTH) {
        await manager.wrongPasswordTime(password);
        return null;
      }
      const ok = await hasher.verify(stored, String(password));
      if (!ok || node!.properties.disabled === true) return null;
      return toUser(repo, node!);
    },

    incrementGeneration: (id) =>
      mutate({ user: id }, async (tx) => {
        const node = await requireUserNode(tx, id);
        const generation = ((node.properties.generation as number | undefined) ?? 0) + 1;
        return toUser(tx, await tx.setProperties(node.path, { generation }));
      }),

    createGroup: async (id) =>
      mutate({ group: checkId('group', id) }, async (tx) => {
        await ensureIdFree(tx, id);
        const node = await tx.addNode(authorizablePath(GROUPS_ROOT, id), {
          type: GROUP_TYPE,
          properties: { groupId: id },
        });
        return toGroup(tx, node);
      }),

    async getGroup(id) {
      const node = await findGroupNode(repo, id);
      return node ? toGroup(repo, node) : null;
    },

    async listGroups() {
      const nodes = await repo.getSubtree(GROUPS_ROOT);
      const members = membersByGroup(nodes);
      return nodes
        .filter((node) => node.type === GROUP_TYPE)
        .map((node) => ({ id: node.properties.groupId as string, path: node.path, members: members.get(node.path) ?? [] }));
    },

    async removeGroup(id) {
      await mutate({ group: id }, async (tx) => {
        const node = await requireGroupNode(tx, id);
        await tx.removeNode(node.path);
      });
    },

    addMember: (groupId, userId) =>
      mutate({ user: userId }, async (tx) => {
        const node = await requireGroupNode(tx, groupId);
        await requireUserNode(tx, userId);
        await addMembership(tx, node, userId);
        return toGroup(tx, node);
      }),

    removeMember: (groupId, userId) =>
      mutate({ user: userId }, async (tx) => {
        const node = await requireGroupNode(tx, groupId);
        checkId('user', userId);
        if (!(await removeMembership(tx, node.path, userId))) {
          throw new CapsuleError('USER_NOT_FOUND', `'${userId}' is not a member of '${groupId}'`);
        }
        return toGroup(tx, node);
      }),

    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    deletedAt: (id) => userDeletedAt(repo, checkId('user', id)),

    async externalIdentityOf(id) {
      const node = await findUserNode(repo, checkId('user', id));
      const { externalProvider: provider, externalSubject: subject } = node?.properties ?? {};
      return typeof provider === 'string' && typeof subject === 'string' ? { provider, subject } : null;
    },

    async findExternalUsers(provider, subject) {
      return (await repo.findByProperty(PROVIDER_SUBJECT, providerSubjectKey(provider, subject), USER_TYPE))
        .filter((node) => node.properties.externalProvider === provider && node.properties.externalSubject === subject)
        .map((node) => node.properties.userId)
        .filter((id): id is string => typeof id === 'string')
        .sort();
    },

    async provisionExternalUser(id, identity, { sync, generation }) {
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
      notify({ user: id });
      return user;
    },
  };
  return manager;

  async function provisionIn(tx: RepositoryWriter, id: string, identity: ExternalIdentity, wanted: string[], sync: boolean, generation: number | undefined): Promise<User> {
    let node = await findUserNode(tx, id);
    if (node) {
      if (node.properties.externalProvider !== identity.provider || node.properties.externalSubject !== identity.subject) {
        throw new CapsuleError('USER_EXISTS', `user '${id}' exists and is not the account of subject ${identity.subject.slice(0, 64)} at ${identity.provider}`);
      }
      if (!sync || node.properties.disabled === true) return toUser(tx, node);
    } else {
      if (await findGroupNode(tx, id)) throw new CapsuleError('USER_EXISTS', `a group '${id}' already exists`);
      await removeMembershipsOf(tx, id);
      node = await tx.addNode(authorizablePath(USERS_ROOT, id), {
        type: USER_TYPE,
        // A token's claim gives the generation its instance issued it in (the tombstone's time has
        // already refused a claim from before a deletion here); a sign-in here starts past a deleted
        // user's of the same id (tombstones.ts), as createUser.
        properties: {
          userId: id,
          disabled: false,
          generation: generation ?? (await firstGeneration(tx, id)),
          externalProvider: identity.provider,
          externalSubject: identity.subject,
          externalGroups: [],
          [PROVIDER_USER]: providerUserKey(identity.provider, id),
          [PROVIDER_SUBJECT]: providerSubjectKey(identity.provider, identity.subject),
        },
      });
    }
    for (const groupId of wanted) {
      let group = await findGroupNode(tx, groupId);
      if (!group) {
        if (await findUserNode(tx, groupId)) throw new CapsuleError('USER_EXISTS', `group '${groupId}' cannot be created: a user of that id exists`);
        group = await tx.addNode(authorizablePath(GROUPS_ROOT, groupId), { type: GROUP_TYPE, properties: { groupId } });
        await record(tx, { group: groupId });
      }
      await addMembership(tx, group, id);
    }
    const before = (node.properties.externalGroups as readonly string[] | undefined) ?? [];
    for (const groupId of before.filter((group) => !wanted.includes(group))) {
      const group = await findGroupNode(tx, groupId);
      if (group) await removeMembership(tx, group.path, id);
    }
    node = await tx.setProperties(node.path, { externalGroups: wanted });
    await record(tx, { user: id });
    return toUser(tx, node);
  }
}

/** One candidate of a user page: its id (where the next batch starts) and its node, if the user exists. */
interface UserCandidate {
  readonly id: string;
  readonly node: RepositoryNode | null;
}

/** The next `count` candidates after an id, in id order, from the index that serves the query's main filter. */
type UserCandidates = (after: string | undefined, count: number) => Promise<UserCandidate[]>;

/** How many candidates one call of findUsers may examine for a page of `limit` users. */
export function examinedPerPage(limit: number): number {
  return Math.max(10 * limit, 1000);
}

function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  return Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(limit)));
}
