import { CapsuleError, isCapsuleError } from '../../errors.js';
import {
  FARM_SESSIONS_LIST_PATH,
  FARM_SESSIONS_REVOKE_ALL_PATH,
  FARM_SESSIONS_REVOKE_PATH,
  type MemberSessionList,
  type MemberSessionRevoked,
  type MemberSessionsEnded,
  type MemberSessionView,
} from '../../member/protocol.js';
import { memberClient, type AdminCredentials } from './admin-client.js';
import type { FarmManifestV2 } from './manifest.js';

/** One member's part of a farm-wide sessions command. */
export interface MemberSessionsOutcome {
  readonly member: string;
  /** Sessions listed, or ended, there; null when it could not say. */
  readonly count: number | null;
  /** Why it could not say: it does not answer, or does not have the user. */
  readonly problem: string | null;
  /** False when it could not be asked (no answer, refused credentials): it may hold sessions no other member has. True when it answered, even "no such user". */
  readonly answered: boolean;
}

/** A session as the farm shows it: the members that listed it (all of them when they share the farm store's PostgreSQL). */
export interface FarmSessionView extends MemberSessionView {
  readonly listedBy: readonly string[];
}

export interface FarmSessionList {
  readonly userId: string;
  readonly sessions: readonly FarmSessionView[];
  readonly members: readonly MemberSessionsOutcome[];
}

export interface FarmSessionRevoked {
  readonly userId: string;
  readonly sessionId: string;
  /** The members that ended it (one is enough: with a shared store, every member refuses it then). */
  readonly endedOn: readonly string[];
  readonly members: readonly MemberSessionsOutcome[];
}

export interface FarmSessionsEnded {
  readonly userId: string;
  readonly ended: number;
  readonly members: readonly MemberSessionsOutcome[];
}

type Answer<T> = { readonly member: string; readonly value: T } | { readonly member: string; readonly error: CapsuleError };

/** Asks every member at once; a member that fails is an answer too (what it said), never the end of the command. */
async function askEveryMember<T>(manifest: FarmManifestV2, credentials: AdminCredentials, path: string, body: object): Promise<Array<Answer<T>>> {
  return Promise.all(
    manifest.members.map(async (member): Promise<Answer<T>> => {
      try {
        return { member: member.name, value: await memberClient(member, credentials).post<T>(path, body) };
      } catch (error) {
        if (!isCapsuleError(error)) throw error;
        return { member: member.name, error };
      }
    }),
  );
}

function outcomeOf<T>(answer: Answer<T>, count: (value: T) => number): MemberSessionsOutcome {
  if ('error' in answer) return { member: answer.member, count: null, problem: answer.error.message, answered: answer.error.code === 'USER_NOT_FOUND' };
  return { member: answer.member, count: count(answer.value), problem: null, answered: true };
}

/** Every member failed: the first reason is the command's (the user is on none, or none answers). */
function refuseWhenNoneAnswered(userId: string, answers: ReadonlyArray<Answer<unknown>>): void {
  const failures = answers.flatMap((answer) => ('error' in answer ? [answer.error] : []));
  if (failures.length < answers.length) return;
  if (failures.every((error) => error.code === 'USER_NOT_FOUND')) throw new CapsuleError('USER_NOT_FOUND', `no member has a user '${userId}'`);
  throw failures.find((error) => error.code !== 'USER_NOT_FOUND') ?? failures[0]!;
}

/**
 * A user's sessions on every member, merged by id. Members that share the farm store's
 * PostgreSQL list the same sessions; without it each lists those it issued.
 */
export async function listFarmSessions(manifest: FarmManifestV2, credentials: AdminCredentials, userId: string): Promise<FarmSessionList> {
  const answers = await askEveryMember<MemberSessionList>(manifest, credentials, FARM_SESSIONS_LIST_PATH, { user: userId });
  refuseWhenNoneAnswered(userId, answers);
  const merged = new Map<string, FarmSessionView>();
  for (const answer of answers) {
    if ('error' in answer) continue;
    for (const session of answer.value.sessions) {
      const known = merged.get(session.id);
      // A member that already heard of its end knows more than one that did not yet.
      const shown = known && known.state === 'ended' ? known : { ...session, current: false };
      merged.set(session.id, { ...shown, listedBy: [...(known?.listedBy ?? []), answer.member] });
    }
  }
  const sessions = [...merged.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  return {
    userId,
    sessions,
    members: answers.map((answer) => outcomeOf(answer, (value) => value.sessions.length)),
  };
}

/** Ends one session: asked of every member, done when any of them had it live. */
export async function revokeFarmSession(manifest: FarmManifestV2, credentials: AdminCredentials, userId: string, sessionId: string): Promise<FarmSessionRevoked> {
  const answers = await askEveryMember<MemberSessionRevoked>(manifest, credentials, FARM_SESSIONS_REVOKE_PATH, { user: userId, session: sessionId });
  refuseWhenNoneAnswered(userId, answers);
  const endedOn = answers.flatMap((answer) => ('error' in answer || answer.value.revoked === null ? [] : [answer.member]));
  const members = answers.map((answer) => outcomeOf(answer, (value) => (value.revoked ? 1 : 0)));
  if (endedOn.length === 0) {
    // A member that could not be asked may hold it (without a shared store, sessions live where they were issued).
    const unasked = members.filter((member) => !member.answered);
    if (unasked.length > 0) throw new CapsuleError('CHECK_FAILED', `no member that answered had an active session ${sessionId} of ${userId}; ${unasked.map((member) => member.problem).join('; ')}`);
    throw new CapsuleError('NOT_FOUND', `no member has an active session ${sessionId} of ${userId} ('capsule farm sessions list --user ${userId}' shows them); nothing was changed`);
  }
  return { userId, sessionId, endedOn, members };
}

/** Ends every live session of a user, on every member (each ends those its store holds). */
export async function revokeAllFarmSessions(manifest: FarmManifestV2, credentials: AdminCredentials, userId: string): Promise<FarmSessionsEnded> {
  const answers = await askEveryMember<MemberSessionsEnded>(manifest, credentials, FARM_SESSIONS_REVOKE_ALL_PATH, { user: userId });
  refuseWhenNoneAnswered(userId, answers);
  const members = answers.map((answer) => outcomeOf(answer, (value) => value.ended));
  return { userId, ended: members.reduce((total, member) => total + (member.count ?? 0), 0), members };
}
