import type { Log } from '../log.js';
import type { SessionRegistry } from '../sessions/index.js';
import { createKeptAnswers } from './kept-answers.js';
import { refreshesAt } from './refresh-rule.js';
import { refusalOf } from './refusal.js';
import { refusedForEndedSession } from './session-ended.js';
import { MALFORMED_STATEFUL_TOKEN, type StatefulToken, type StatefulTokenStore } from './stateful-tokens.js';
import type { TokenSettings } from './token-config.js';
import { sessionOf, type TokenKindHandler } from './token-kind.js';
import type { TokenUsers } from './token-users.js';
import type { UserCache } from './user-cache.js';
import type { AuthLogger } from './types.js';
import type { ValidatedTokens } from './validated-tokens.js';

export interface StatefulKindDeps {
  readonly store: StatefulTokenStore;
  /** Tokens as last validated (validated-tokens.ts); without it every check reads the repository. */
  readonly validatedTokens: ValidatedTokens | undefined;
  readonly settings: () => TokenSettings;
  readonly userCache: UserCache;
  readonly tokenUsers: TokenUsers;
  /** Whether a token's session was ended; told of refreshes. */
  readonly sessions: SessionRegistry;
  readonly logger: AuthLogger;
  readonly audit: Log;
}

/** Stateful tokens: kept in this instance's repository (stateful-tokens.ts), checked against it. */
export function createStatefulKind(deps: StatefulKindDeps): TokenKindHandler {
  const { store, validatedTokens, settings, userCache, tokenUsers, sessions, logger, audit } = deps;
  const keptAnswers = createKeptAnswers(settings);

  /** A stateful token lives as long as configured now. */
  const refreshesAtOf = (token: StatefulToken) => refreshesAt(settings(), token.expiresAt, settings().expirationMs);

  /** The token as the repository has it (a hit of the validated-token cache, or one read), or null. */
  async function validToken(token: string, nowMs: number): Promise<StatefulToken | null> {
    const kept = await validatedTokens?.lookup(token, nowMs);
    if (kept) return kept;
    const epoch = validatedTokens?.epoch() ?? 0;
    const validation = await store.validate(token, nowMs);
    if (!validation.ok) {
      logger.debug({ reason: validation.reason }, 'stateful token refused');
      if (validation.reason !== MALFORMED_STATEFUL_TOKEN) {
        audit.info({ event: 'token-refused', tokenType: 'stateful', reason: validation.reason }, 'token refused');
      }
      return null;
    }
    validatedTokens?.remember(token, validation.token, epoch);
    return validation.token;
  }

  return {
    // A stateful token lives in this instance's repository only: nothing to provision elsewhere.
    issue: (user, nowMs, options) => store.create(user, nowMs, settings().expirationMs, options.sessionId),

    async check(token, nowMs) {
      const valid = await validToken(token, nowMs);
      if (!valid || refusedForEndedSession(deps, 'stateful', valid.userId, valid.sid)) return null;
      const user = await tokenUsers.usable({ sub: valid.userId, gen: valid.gen }, 'stateful', nowMs);
      if (!user) return null;
      if (nowMs > refreshesAtOf(valid)) {
        const expiresAt = nowMs + settings().expirationMs;
        // The token is valid: a refresh that cannot be written now (the repository read-only, busy
        // or away) leaves it as it was, and a later request refreshes it. The request goes on.
        const extended = await store.extend(valid.nodeId, expiresAt).then(
          () => true,
          (error: unknown) => {
            logger.warn({ err: error, userId: user.id }, 'stateful token not refreshed; it keeps its expiry, a later request refreshes it');
            return false;
          },
        );
        if (extended) {
          validatedTokens?.extended(token, expiresAt);
          if (valid.sid !== undefined) sessions.extended?.(valid.sid, expiresAt);
          return { session: sessionOf(user, 'stateful', expiresAt, valid.sid), renewedToken: token };
        }
      }
      return { session: sessionOf(user, 'stateful', valid.expiresAt, valid.sid) };
    },

    kept(token, nowMs) {
      const valid = validatedTokens?.kept(token, nowMs);
      const user = valid && userCache.kept(valid.userId, nowMs);
      if (!valid || !user) return undefined;
      // Before any kept answer: a session ended since is refused on the very next request.
      if (valid.sid !== undefined && sessions.isRevoked(valid.sid)) return undefined;
      // A kept answer was given to this very user object, which passed the check then (a changed user is another object).
      const again = keptAnswers.get(valid, user, null, nowMs);
      if (again) return again;
      if (refusalOf(user, { sub: valid.userId, gen: valid.gen }) !== null) return undefined;
      const refreshDueAt = refreshesAtOf(valid);
      if (nowMs > refreshDueAt) return undefined; // a write: check
      return keptAnswers.keep(valid, user, null, Math.min(valid.expiresAt, refreshDueAt), { session: sessionOf(user, 'stateful', valid.expiresAt, valid.sid) });
    },

    async end(token, nowMs) {
      // Only a good token (its secret checked) ends its session; any token of the node is removed, as before.
      const validation = await store.validate(token, nowMs);
      await store.remove(token);
      return validation.ok && validation.token.sid !== undefined ? { userId: validation.token.userId, sessionId: validation.token.sid } : null;
    },
  };
}
