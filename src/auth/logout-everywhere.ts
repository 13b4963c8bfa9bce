import { CapsuleError } from '../errors.js';
import type { UserManager } from '../users/index.js';
import type { StatefulTokenStore } from './stateful-tokens.js';

/**
 * Deletes the user's stateful tokens and raises its generation: every token issued before ends,
 * on every instance the user record reaches (encapsulated tokens carry the generation they were
 * issued with). Needs no token handler, so a command can run it on a home without serving it.
 */
export async function logoutEverywhere(deps: { users: UserManager; store: StatefulTokenStore }, userId: string): Promise<{ statefulTokensRemoved: number; generation: number }> {
  const user = await deps.users.getUser(userId);
  if (!user) throw new CapsuleError('USER_NOT_FOUND', `no user '${userId}'`);
  const statefulTokensRemoved = await deps.store.removeAllOf(user);
  const updated = await deps.users.incrementGeneration(userId);
  return { statefulTokensRemoved, generation: updated.generation };
}
