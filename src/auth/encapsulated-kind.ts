import { createSecretKey, type KeyObject } from 'node:crypto';
import type { CryptoSupport } from '../crypto/index.js';
import type { Log } from '../log.js';
import type { CounterWatch } from '../repository/index.js';
import type { SessionRegistry } from '../sessions/index.js';
import type { User } from '../users/index.js';
import { createEncapsulatedVerifier, isNotAToken, issueEncapsulatedToken, type EncapsulatedClaims } from './encapsulated-tokens.js';
import { createKeptAnswers } from './kept-answers.js';
import { refreshesAt } from './refresh-rule.js';
import { refusalOf } from './refusal.js';
import { refusedForEndedSession } from './session-ended.js';
import type { TokenSettings } from './token-config.js';
import { sessionOf, type KindIssueOptions, type TokenKindHandler } from './token-kind.js';
import { TokenMap } from './token-map.js';
import type { TokenUsers } from './token-users.js';
import type { UserCache } from './user-cache.js';
import type { Authentication, AuthLogger } from './types.js';

const VERIFIED_CACHE_SIZE = 10_000;

export interface EncapsulatedKindDeps {
  readonly crypto: CryptoSupport;
  readonly settings: () => TokenSettings;
  readonly userCache: UserCache;
  /** The token handler's watch of the users counter, asked on the kept path (which does not wait for it). */
  readonly changes: Pick<CounterWatch, 'lookIfDue'>;
  readonly tokenUsers: TokenUsers;
  /** Whether a token's session was ended; told of renewals. */
  readonly sessions: SessionRegistry;
  /** Remember verified tokens (expiry, key and generation are still checked every time). */
  readonly verifiedTokenCache: boolean;
  readonly logger: AuthLogger;
  readonly audit: Log;
}

interface Verified {
  readonly claims: EncapsulatedClaims;
  readonly kid: string;
}

/** Encapsulated tokens: HMAC-signed, checked offline by any instance with the same keys (encapsulated-tokens.ts). */
export function createEncapsulatedKind(deps: EncapsulatedKindDeps): TokenKindHandler {
  const { crypto, settings, userCache, tokenUsers, sessions, logger, audit } = deps;
  const keptAnswers = createKeptAnswers(settings);

  // A key id is a hash of the key, so a kid always names the same bytes: KeyObjects can be kept
  // for good. Whether a kid may still verify is asked of crypto support on every token.
  const keyObjects = new Map<string, KeyObject>();
  function keyObject(kid: string, bytes: Buffer): KeyObject {
    let key = keyObjects.get(kid);
    if (!key) {
      key = createSecretKey(bytes);
      keyObjects.set(kid, key);
    }
    return key;
  }
  const verifier = createEncapsulatedVerifier((kid) => {
    const bytes = crypto.verificationKey(kid);
    return bytes && keyObject(kid, bytes);
  });
  const verified = new TokenMap<Verified>();

  function issue(user: User, nowMs: number, { provisioning, sessionId }: KindIssueOptions): { token: string; expiresAt: number } {
    const lifetimeMs = settings().expirationMs;
    const signing = crypto.signingKey();
    const iat = Math.floor(nowMs / 1000);
    const exp = Math.floor((nowMs + lifetimeMs) / 1000);
    const claims = { sub: user.id, iat, exp, gen: user.generation, ...(sessionId !== undefined ? { sid: sessionId } : {}), ...(provisioning ? { prv: provisioning } : {}) };
    return { token: issueEncapsulatedToken(claims, { kid: signing.kid, key: keyObject(signing.kid, signing.key) }), expiresAt: exp * 1000 };
  }

  /** A token lives as long as it was signed for. */
  const refreshesAtOf = (claims: EncapsulatedClaims) => refreshesAt(settings(), claims.exp * 1000, (claims.exp - claims.iat) * 1000);

  /** The session of a verified token of a usable user, renewed past half its life or when its key is retired. */
  function authentication(user: User, { claims, kid }: Verified, nowMs: number): Authentication {
    const pastHalfLife = nowMs > refreshesAtOf(claims);
    const signedByRetiredKey = kid !== crypto.signingKey().kid && crypto.keyIds().retiredHmac.includes(kid);
    if (pastHalfLife || signedByRetiredKey) {
      // The same session, and the sign-in time in the provisioning claim stays as it was.
      const renewed = issue(user, nowMs, { provisioning: claims.prv, sessionId: claims.sid });
      if (claims.sid !== undefined) sessions.extended?.(claims.sid, renewed.expiresAt);
      return { session: sessionOf(user, 'encapsulated', renewed.expiresAt, claims.sid), renewedToken: renewed.token };
    }
    return { session: sessionOf(user, 'encapsulated', claims.exp * 1000, claims.sid) };
  }

  return {
    issue: async (user, nowMs, options) => issue(user, nowMs, options),

    async check(token, nowMs) {
      let result = deps.verifiedTokenCache ? verified.get(token) : undefined;
      if (!result) {
        const verification = verifier.verify(token, nowMs);
        if (!verification.ok) {
          logger.debug({ reason: verification.reason }, 'encapsulated token refused');
          // Junk that is no token is counted (metrics) but not audited: a flood of it must not flood the trail.
          if (!isNotAToken(token, verification.reason)) {
            audit.info({ event: 'token-refused', tokenType: 'encapsulated', reason: verification.reason }, 'token refused');
          }
          return null;
        }
        result = { claims: verification.claims, kid: verification.kid };
        if (deps.verifiedTokenCache) {
          if (verified.size >= VERIFIED_CACHE_SIZE) verified.clear();
          verified.set(token, result);
        }
      } else if (result.claims.exp * 1000 <= nowMs || !crypto.verificationKey(result.kid)) {
        verified.delete(token);
        return null;
      }
      if (refusedForEndedSession(deps, 'encapsulated', result.claims.sub, result.claims.sid)) return null;
      const user = await tokenUsers.usable(result.claims, 'encapsulated', nowMs);
      return user && authentication(user, result, nowMs);
    },

    kept(token, nowMs) {
      const verification = deps.verifiedTokenCache ? verified.get(token) : undefined;
      if (!verification) return undefined;
      // Before any kept answer: a session ended since is refused on the very next request.
      const { sid } = verification.claims;
      if (sid !== undefined && sessions.isRevoked(sid)) return undefined;
      // Checked offline, this path never waits for the repository: when a look at the users counter
      // is due it starts it and leaves the answer to the full check, which awaits it (as the stateful
      // kept path does), so a user changed by another process is not served from the user cache.
      if (deps.changes.lookIfDue()) return undefined;
      const user = userCache.kept(verification.claims.sub, nowMs);
      if (!user) return undefined;
      const keys = crypto.keyIds();
      const again = keptAnswers.get(verification, user, keys, nowMs);
      if (again) return again;
      const { claims, kid } = verification;
      if (claims.exp * 1000 <= nowMs || !crypto.verificationKey(kid) || refusalOf(user, claims) !== null) return undefined;
      const answer = authentication(user, verification, nowMs);
      if (answer.renewedToken) return answer;
      return keptAnswers.keep(verification, user, keys, Math.min(claims.exp * 1000, refreshesAtOf(claims)), answer);
    },

    // Nothing to delete: the token simply stops being sent. Its session, if it names one, ends.
    async end(token, nowMs) {
      const verification = verifier.verify(token, nowMs);
      return verification.ok && verification.claims.sid !== undefined ? { userId: verification.claims.sub, sessionId: verification.claims.sid } : null;
    },
  };
}
