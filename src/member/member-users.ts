import { CapsuleError } from '../errors.js';
import { configuredAgents, LOCAL_GROUPS, LOCAL_USERS, OUTBOX_COUNTER } from '../replication/index.js';
import type { ConfigAdmin } from '../config/index.js';
import type { Repository } from '../repository/index.js';
import { checkId, type UserManager, type UserQuery } from '../users/index.js';
import type { MemberLogoutEverywhere, MemberUserChange, MemberUserPage } from './protocol.js';

/** Ends every token of a user on this member (the token handler's logoutEverywhere), which member/ may not build. */
export type EndTokens = (id: string) => Promise<{ statefulTokensRemoved: number; generation: number }>;

export interface MemberUsers {
  add(id: string, password: string, groups: readonly string[]): Promise<MemberUserChange>;
  setPassword(id: string, password: string): Promise<MemberUserChange>;
  remove(id: string): Promise<MemberUserChange>;
  /** One page of the author's users (every user, those kept per instance too). */
  list(query: UserQuery): Promise<MemberUserPage>;
  /** Disabling raises the generation too: every token ends, on every publish the change reaches. */
  setDisabled(id: string, disabled: boolean): Promise<MemberUserChange>;
  logoutEverywhere(id: string, endTokens: EndTokens): Promise<MemberLogoutEverywhere>;
}

/**
 * The farm's users, changed on the author: each change is written to the outbox in its own
 * transaction (the user manager does that), and the agents carry it to every publish. Users
 * kept per instance (admin, the publishes' transport users) are refused: they never replicate.
 */
export function createMemberUsers(deps: { users: UserManager; repo: Repository; config: ConfigAdmin }): MemberUsers {
  const { users } = deps;
  const keptPerInstance = (id: string) => `${id} is kept per instance and never replicated; change it on each member with 'capsule users … --home'`;
  const refuseLocal = async (id: string) => {
    const transportUsers = configuredAgents(deps.config).map((agent) => agent.transportUser);
    if (LOCAL_USERS.includes(id) || transportUsers.includes(id)) throw new CapsuleError('INVALID_ARGUMENT', keptPerInstance(id));
    // A member of the author's own groups (its administrators): a publish would refuse the change and its queue would stop.
    const local = (await users.getUser(id))?.groups.filter((group) => LOCAL_GROUPS.includes(group)) ?? [];
    if (local.length > 0) throw new CapsuleError('INVALID_ARGUMENT', `${keptPerInstance(id)} (it is in ${local.join(', ')})`);
  };
  const changed = async (id: string): Promise<MemberUserChange> => {
    const agents = configuredAgents(deps.config);
    return {
      id,
      outboxSequence: await deps.repo.readCounter(OUTBOX_COUNTER),
      agents: agents.filter((agent) => agent.enabled).map((agent) => agent.name),
      disabledAgents: agents.filter((agent) => !agent.enabled).map((agent) => agent.name),
    };
  };
  const requireUser = async (id: string) => {
    if (!(await users.getUser(id))) throw new CapsuleError('USER_NOT_FOUND', `no user ${id} on the author; add it with 'capsule farm users add ${id}'`);
  };

  return {
    async add(id, password, groups) {
      checkId('user', id);
      const local = groups.filter((group) => LOCAL_GROUPS.includes(checkId('group', group)));
      if (local.length > 0) {
        throw new CapsuleError('INVALID_ARGUMENT', `${local.join(', ')} is kept per instance and never replicated: a farm user cannot join it; nothing was changed`);
      }
      await refuseLocal(id);
      if (await users.getUser(id)) {
        throw new CapsuleError('USER_EXISTS', `user ${id} already exists; nothing was changed; set its password with 'capsule farm users passwd ${id}'`);
      }
      // The user and any new group in one transaction: a refused user leaves no group behind.
      await users.createUser(id, { password, groups, createGroups: true });
      return changed(id);
    },
    async setPassword(id, password) {
      await refuseLocal(id);
      await requireUser(id);
      await users.setPassword(id, password);
      return changed(id);
    },
    async remove(id) {
      await refuseLocal(id);
      await requireUser(id);
      await users.removeUser(id);
      return changed(id);
    },
    async list(query) {
      const page = await users.findUsers(query);
      return { users: page.users.map(({ id, disabled, generation, groups }) => ({ id, disabled, generation, groups })), next: page.next };
    },
    async setDisabled(id, disabled) {
      await refuseLocal(id);
      await requireUser(id);
      await users.setDisabled(id, disabled);
      return changed(id);
    },
    async logoutEverywhere(id, endTokens) {
      await refuseLocal(id);
      await requireUser(id);
      const ended = await endTokens(id);
      return { ...(await changed(id)), ...ended };
    },
  };
}
