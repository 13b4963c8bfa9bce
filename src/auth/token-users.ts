import type { Log } from '../log.js';
import type { CounterWatch } from '../repository/index.js';
import type { User } from '../users/index.js';
import { refusalOf, type UserClaims } from './refusal.js';
import type { AuthLogger, Provisioner, TokenKind } from './types.js';
import type { UserCache } from './user-cache.js';

/** Provisioning claims refused at most remembered (as many as verified tokens are kept). */
const MAX_REFUSED_CLAIMS = 10_000;

/** The user of a token that passed its own check (signature or stored hash, expiry). */
export interface TokenUsers {
  /**
   * The user the token may act as, or null (logged and audited why). A user missing here is
   * created from the token's provisioning claim when the provisioner allows it.
   */
  usable(claims: UserClaims, kind: TokenKind, nowMs: number): Promise<User | null>;
}

export interface TokenUsersDeps {
  readonly userCache: UserCache;
  /** The token handler's watch of the users counter, asked before the user cache is trusted. */
  readonly changes: Pick<CounterWatch, 'lookIfDue'>;
  /** How long the user cache trusts a user: a refused provisioning claim is not tried again before. */
  readonly userCacheTtlMs: number;
  readonly provisioner?: Provisioner;
  readonly logger: AuthLogger;
  readonly audit: Log;
}

export function createTokenUsers(deps: TokenUsersDeps): TokenUsers {
  const { userCache, provisioner, logger, audit } = deps;

  // Claims the provisioner refused, until the user cache would look again: a token that may not
  // create its user costs no repository work and no log line on every request.
  const refusedClaims = new Map<string, number>();

  /** A user missing here, created from the token's provisioning claim when the provisioner allows it. */
  async function provisioned(claims: UserClaims, nowMs: number): Promise<User | null> {
    const { sub: userId, prv: provisioning } = claims;
    if (!provisioning || !provisioner) return null;
    const key = `${userId}\n${provisioning.p}\n${provisioning.at}`;
    if ((refusedClaims.get(key) ?? 0) > nowMs) return null;
    const user = await provisioner.apply(userId, provisioning, claims.gen ?? 0);
    // A user created here bumped the users counter, so the user cache no longer holds "no such user".
    if (!user) {
      if (refusedClaims.size >= MAX_REFUSED_CLAIMS) refusedClaims.clear();
      refusedClaims.set(key, nowMs + deps.userCacheTtlMs);
    }
    return user;
  }

  return {
    async usable(claims, kind, nowMs) {
      const userId = claims.sub;
      const looking = deps.changes.lookIfDue();
      if (looking) await looking;
      // An existing record always wins over a provisioning claim: disabled stays disabled, a raised generation ends the token.
      const user = (await userCache.get(userId, nowMs)) ?? (await provisioned(claims, nowMs));
      const refusal = refusalOf(user, claims);
      if (user && refusal === null) return user;
      logger.warn({ userId, tokenType: kind }, `valid token for ${userId}, but ${refusal}`);
      audit.info({ event: 'token-refused', userId, tokenType: kind, reason: refusal }, 'token refused');
      return null;
    },
  };
}
