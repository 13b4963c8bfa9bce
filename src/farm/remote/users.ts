import type { Clock } from '../../clock.js';
import { CapsuleError } from '../../errors.js';
import {
  FARM_MEMBER_PATH,
  FARM_USERS_DISABLE_PATH,
  FARM_USERS_ENABLE_PATH,
  FARM_USERS_LIST_PATH,
  FARM_USERS_LOGOUT_EVERYWHERE_PATH,
  FARM_USERS_PASSWD_PATH,
  FARM_USERS_PATH,
  FARM_USERS_REMOVE_PATH,
  type MemberInfo,
  type MemberLogoutEverywhere,
  type MemberUserChange,
  type MemberUserPage,
} from '../../member/protocol.js';
import { memberClient, type AdminCredentials, type MemberClient } from './admin-client.js';
import type { FarmManifestV2 } from './manifest.js';

const POLL_MS = 200;

export type FarmUserOperation =
  | { kind: 'add'; password: string; groups: readonly string[] }
  | { kind: 'passwd'; password: string }
  | { kind: 'remove' }
  | { kind: 'disable' }
  | { kind: 'enable' }
  | { kind: 'logout-everywhere' };

export interface FarmUserResult extends MemberUserChange {
  readonly author: string;
  /** logout-everywhere: the user's new token generation (every token issued before it ends). */
  readonly generation?: number;
  /** With a wait: the enabled agents that delivered the change within it (all of them, or the command failed). */
  readonly delivered: readonly string[] | null;
  readonly message: string;
}

export interface FarmUserOptions {
  /** Wait this long for every enabled agent to deliver the change; no wait without it. */
  readonly waitMs?: number;
  readonly clock: Clock;
}

/** What a member answers; members from before `disabledAgents` leave it out. */
type MemberUserChangeAnswer = Omit<MemberUserChange, 'disabledAgents'> & { readonly disabledAgents?: readonly string[] };

const DONE = {
  add: 'added user',
  passwd: 'changed the password of',
  remove: 'removed user',
  disable: 'disabled user',
  enable: 'enabled user',
  'logout-everywhere': 'ended every token of user',
} as const;

const PATH_OF = {
  remove: FARM_USERS_REMOVE_PATH,
  disable: FARM_USERS_DISABLE_PATH,
  enable: FARM_USERS_ENABLE_PATH,
  'logout-everywhere': FARM_USERS_LOGOUT_EVERYWHERE_PATH,
} as const;

/** The member users are changed on: the author, whose agents replicate to the publishes. */
function authorOf(manifest: FarmManifestV2, manifestFile: string) {
  const author = manifest.members.find((member) => member.role === 'author');
  if (!author) {
    throw new CapsuleError('INVALID_ARGUMENT', `${manifestFile} has no member with the role author: users are changed on the author and reach the publishes by replication`);
  }
  return author;
}

async function waitForDelivery(client: MemberClient, change: MemberUserChange, waitMs: number, clock: Clock): Promise<string[]> {
  const deadline = clock.now() + waitMs;
  for (;;) {
    const agents = (await client.get<MemberInfo>(FARM_MEMBER_PATH)).replication.agents.filter((agent) => change.agents.includes(agent.name));
    const behind = agents.filter((agent) => agent.deliveredThrough < change.outboxSequence);
    if (behind.length === 0) return agents.map((agent) => agent.name);
    if (clock.now() > deadline) {
      const why = behind.map((agent) => `${agent.name} (${agent.queued} queued${agent.lastError ? `, last error: ${agent.lastError}` : ''})`).join('; ');
      throw new CapsuleError(
        'CHECK_FAILED',
        `${change.id} changed on ${client.member.name}, but not yet replicated to ${why} after ${waitMs / 1000} s; it is delivered once they answer ('capsule farm status' shows the queues)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Adds, re-passwords or removes a user of the farm through the author's admin API; replication
 * carries the change to every publish. With `waitMs` it returns once every enabled agent has
 * delivered past the change's outbox sequence (a disabled one keeps it queued and is named).
 */
export async function changeFarmUser(
  manifest: FarmManifestV2,
  manifestFile: string,
  credentials: AdminCredentials,
  id: string,
  operation: FarmUserOperation,
  options: FarmUserOptions,
): Promise<FarmUserResult> {
  const client = memberClient(authorOf(manifest, manifestFile), credentials);
  const answer =
    operation.kind === 'add'
      ? await client.post<MemberUserChangeAnswer>(FARM_USERS_PATH, { id, password: operation.password, groups: operation.groups })
      : operation.kind === 'passwd'
        ? await client.post<MemberUserChangeAnswer>(FARM_USERS_PASSWD_PATH, { id, password: operation.password })
        : await client.post<MemberUserChangeAnswer & { generation?: number }>(PATH_OF[operation.kind], { id });
  // A member from before disabled agents were told apart reports every agent as `agents`.
  const disabledAgents = answer.disabledAgents ?? [];
  const change: MemberUserChange = { ...answer, disabledAgents };
  // The wait is for `agents`, the enabled ones: a disabled agent sends nothing until it is
  // enabled, so waiting for it could only time out.
  const delivered = options.waitMs === undefined ? null : await waitForDelivery(client, change, options.waitMs, options.clock);
  const generation = (answer as Partial<MemberLogoutEverywhere>).generation;
  const done = `${DONE[operation.kind]} ${id} on ${client.member.name}${generation === undefined ? '' : ` (token generation now ${generation})`}`;
  const agents = change.agents.join(', ');
  const sent =
    change.agents.length === 0
      ? disabledAgents.length === 0
        ? `it has no replication agents, so no publish receives it ('capsule replication add-agent')`
        : `it has no enabled replication agents, so no publish receives it yet`
      : delivered
        ? `replicated to ${agents} (outbox ${change.outboxSequence})`
        : `replication carries it to ${agents} (outbox ${change.outboxSequence}; --wait SECONDS waits for it)`;
  const held =
    disabledAgents.length === 0
      ? ''
      : `; ${disabledAgents.join(', ')} ${disabledAgents.length === 1 ? 'is' : 'are'} disabled and keep${disabledAgents.length === 1 ? 's' : ''} it queued until enabled (on ${client.member.name}: 'capsule config set capsule.replication.agent~${disabledAgents[0]} enabled=true --home HOME')`;
  return { ...change, author: client.member.name, delivered, ...(generation !== undefined && { generation }), message: `${done}; ${sent}${held}` };
}

export interface FarmUserQuery {
  readonly prefix?: string;
  readonly group?: string;
  readonly provider?: string;
  readonly after?: string;
  readonly limit?: number;
}

export interface FarmUserList extends MemberUserPage {
  readonly author: string;
}

/** One page of the farm's users, as the author has them (the publishes have what replication brought). */
export async function listFarmUsers(manifest: FarmManifestV2, manifestFile: string, credentials: AdminCredentials, query: FarmUserQuery): Promise<FarmUserList> {
  const client = memberClient(authorOf(manifest, manifestFile), credentials);
  const page = await client.post<MemberUserPage>(FARM_USERS_LIST_PATH, query);
  return { author: client.member.name, ...page };
}
