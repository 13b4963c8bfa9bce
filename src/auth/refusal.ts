import type { User } from '../users/index.js';
import type { ProvisioningClaim } from './types.js';

/** What a token says of its user: who, and for an encapsulated token the generation it was issued in and how to create the user. */
export interface UserClaims {
  readonly sub: string;
  readonly gen?: number;
  readonly prv?: ProvisioningClaim;
}

/**
 * Why the user may not act on a token that makes these claims (it does not exist here, it is
 * disabled, its generation moved on: logged out everywhere), or null when it may. `user` is the
 * record as loaded (null: none). The one check of both token kinds, on the kept path as on the full one.
 */
export function refusalOf(user: User | null, claims: UserClaims): string | null {
  if (!user) return `${claims.sub} does not exist on this instance${claims.prv ? ' and its provisioning claim may not create it here' : ''}`;
  if (user.disabled) return `${claims.sub} is disabled`;
  if (claims.gen !== undefined && claims.gen !== user.generation) return `its generation ${claims.gen} is not the user's ${user.generation} (logged out everywhere)`;
  return null;
}
