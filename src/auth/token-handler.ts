import { createSecretKey, type KeyObject } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { ConfigAdmin } from '../config/index.js';
import type { CryptoSupport, KeyIds } from '../crypto/index.js';
import { CapsuleError } from '../errors.js';
import type { Log } from '../log.js';
import type { Repository } from '../repository/index.js';
import type { User, UserManager } from '../users/index.js';
import { tokenCookie, tokenFromRequest } from './cookies.js';
import { createEncapsulatedVerifier, isNotAToken, issueEncapsulatedToken, type EncapsulatedClaims } from './encapsulated-tokens.js';
import { createLoginThrottle, type LoginThrottle } from './login-throttle.js';
import { refreshesAt } from './refresh-rule.js';
import { refusalOf, type UserClaims } from './refusal.js';
import { logoutEverywhere } from './logout-everywhere.js';
import { checkPassword, type LoginOutcome, type PasswordCheck } from './password-login.js';
import { createStatefulTokenStore, looksStateful, MALFORMED_STATEFUL_TOKEN, type StatefulToken } from './stateful-tokens.js';
import { TOKEN_PID, tokenSettings, type TokenSettings } from './token-config.js';
import type { Authentication, Provisioner, ProvisioningClaim, Session, TokenKind, TokenRequest } from './types.js';
import { TokenMap } from './token-map.js';
import { createUserCache } from './user-cache.js';
import { createValidatedTokens } from './validated-tokens.js';

/** The handler's logger: a `Log` that also takes debug lines (why a token was refused, at debug level: pino's signature). */
export type AuthLogger = Log & { debug(fields: object, message: string): void };

export type TokenOutcome = 'valid' | 'refused' | 'error';

/** Counters the handler bumps (Prometheus in an instance): each call must be cheap, it sits on every request. */
export interface AuthMetrics {
  login(outcome: LoginOutcome): void;
  tokenVerified(kind: TokenKind, outcome: TokenOutcome): void;
}

export interface TokenHandlerDeps {
  readonly repo: Repository;
  readonly users: UserManager;
  readonly crypto: CryptoSupport;
  readonly config: ConfigAdmin;
  readonly clock: Clock;
  readonly logger?: AuthLogger;
  /** The audit trail: one line per login and per refused well-formed token (user, address, reason; never a password or token). */
  readonly audit?: Log;
  readonly metrics?: AuthMetrics;
  readonly throttle?: LoginThrottle;
  /** How long a loaded user is trusted on the token path (default 5 s). */
  readonly userCacheTtlMs?: number;
  /** Remember verified encapsulated tokens (expiry, key and generation are still checked every time). */
  readonly verifiedTokenCache?: boolean;
  /** Remember validated stateful tokens until a token or user change (validated-tokens.ts); expiry and the user are still checked every time. */
  readonly validatedTokenCache?: boolean;
  /** Creates a user missing here from a token's provisioning claim (OpenID Connect); without it such tokens are refused. */
  readonly provisioner?: Provisioner;
}

export interface IssueOptions {
  /** Carried by an encapsulated token, so any instance with the same keys can create the user (see README, single sign-on). */
  readonly provisioning?: ProvisioningClaim;
}

export type LoginResult =
  | { readonly ok: true; readonly token: string; readonly session: Session }
  | { readonly ok: false; readonly retryAfterSeconds: number };

/** A token just issued, and the session it stands for. */
export interface IssuedToken {
  readonly token: string;
  readonly session: Session;
}

export interface TokenHandler {
  settings(): TokenSettings;
  /** `Set-Cookie` carrying a token of this session, kept by the browser until the token expires (by this handler's clock). */
  cookieFor(token: string, session: Session, https: boolean): string;
  /** `checkPassword`, then `issue`: the form login. */
  login(userId: string, password: string, clientAddress: string): Promise<LoginResult>;
  /** Checks a password (throttled per user and per client address); issues nothing. A user name no user can have is INVALID_ARGUMENT. */
  checkPassword(userId: string, password: string, clientAddress: string): Promise<PasswordCheck>;
  /**
   * Issues a token of the configured kind for a user some handler has already authenticated
   * (password, OpenID Connect, a transport user). The one way a token comes into being.
   */
  issue(user: User, options?: IssueOptions): Promise<IssuedToken>;
  /** The session of a request (cookie or `login-token` header), or null. Never throws for a bad token. */
  authenticate(request: TokenRequest): Promise<Authentication | null>;
  authenticateToken(token: string): Promise<Authentication | null>;
  /**
   * `authenticateToken` answered from what is kept (a verified or validated token and its user,
   * with every check made), without a promise; undefined when that cannot answer, or when the
   * answer would be a refusal: then `authenticateToken`, which also logs and audits.
   */
  authenticateKept(token: string): Authentication | undefined;
  tokenOf(request: TokenRequest): string | null;
  /** Ends one token (a stateful token is deleted; an encapsulated one simply stops being sent). */
  logout(token: string): Promise<void>;
  /** Deletes the user's stateful tokens and raises its generation: every token issued before ends. */
  logoutEverywhere(userId: string): Promise<{ statefulTokensRemoved: number; generation: number }>;
  removeExpiredTokens(): Promise<number>;
  /** Another process changed users: forget cached ones. */
  usersChanged(): void;
}

export const MAX_TOKENS_PER_USER = 50;
const VERIFIED_CACHE_SIZE = 10_000;

export function createTokenHandler(deps: TokenHandlerDeps): TokenHandler {
  const { users, crypto, config, clock } = deps;
  const logger = deps.logger;
  const passwordLogin = { users, clock, throttle: deps.throttle ?? createLoginThrottle(), audit: deps.audit, metrics: deps.metrics };
  const userCacheTtlMs = deps.userCacheTtlMs ?? 5_000;
  const userCache = createUserCache(users, userCacheTtlMs);
  const store = createStatefulTokenStore({ repo: deps.repo, maxPerUser: () => MAX_TOKENS_PER_USER });
  const validatedTokens = deps.validatedTokenCache === false ? undefined : createValidatedTokens({ repo: deps.repo, clock });

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
  const verified = new TokenMap<{ claims: EncapsulatedClaims; kid: string }>();

  let cachedSettings: TokenSettings | undefined;
  config.onChange(TOKEN_PID, () => {
    cachedSettings = undefined;
  });
  const settings = () => (cachedSettings ??= tokenSettings(config.current(TOKEN_PID)));

  function sessionOf(user: User, type: TokenKind, expiresAtMs: number): Session {
    return { userId: user.id, groups: user.groups, token: { type, expiresAt: new Date(expiresAtMs) } };
  }

  function issueEncapsulated(user: User, nowMs: number, provisioning?: ProvisioningClaim): { token: string; expiresAt: number } {
    const lifetimeMs = settings().expirationMs;
    const signing = crypto.signingKey();
    const iat = Math.floor(nowMs / 1000);
    const exp = Math.floor((nowMs + lifetimeMs) / 1000);
    const claims = { sub: user.id, iat, exp, gen: user.generation, ...(provisioning ? { prv: provisioning } : {}) };
    return { token: issueEncapsulatedToken(claims, { kid: signing.kid, key: keyObject(signing.kid, signing.key) }), expiresAt: exp * 1000 };
  }

  // Claims the provisioner refused, until the user cache would look again: a token that may not
  // create its user costs no repository work and no log line on every request.
  const refusedClaims = new Map<string, number>();

  /** A user missing here, created from the token's provisioning claim when the provisioner allows it. */
  async function provisioned(userId: string, provisioning: ProvisioningClaim | undefined, generation: number | undefined, nowMs: number): Promise<User | null> {
    if (!provisioning || !deps.provisioner) return null;
    const key = `${userId}\n${provisioning.p}\n${provisioning.at}`;
    if ((refusedClaims.get(key) ?? 0) > nowMs) return null;
    const user = await deps.provisioner.apply(userId, provisioning, generation ?? 0);
    if (user) {
      userCache.invalidate(userId); // it held "no such user"
    } else {
      if (refusedClaims.size >= VERIFIED_CACHE_SIZE) refusedClaims.clear();
      refusedClaims.set(key, nowMs + userCacheTtlMs);
    }
    return user;
  }

  /** The user a valid token may act as, or null (logged and audited why). */
  async function usableUser(claims: UserClaims, kind: TokenKind, nowMs: number): Promise<User | null> {
    const userId = claims.sub;
    // An existing record always wins over a provisioning claim: disabled stays disabled, a raised generation ends the token.
    const user = (await userCache.get(userId, nowMs)) ?? (await provisioned(userId, claims.prv, claims.gen, nowMs));
    const refusal = refusalOf(user, claims);
    if (user && refusal === null) return user;
    logger?.warn({ userId, tokenType: kind }, `valid token for ${userId}, but ${refusal}`);
    deps.audit?.info({ event: 'token-refused', userId, tokenType: kind, reason: refusal }, 'token refused');
    return null;
  }

  async function authenticateEncapsulated(token: string, nowMs: number): Promise<Authentication | null> {
    let result = deps.verifiedTokenCache === false ? undefined : verified.get(token);
    if (!result) {
      const verification = verifier.verify(token, nowMs);
      if (!verification.ok) {
        logger?.debug({ reason: verification.reason }, 'encapsulated token refused');
        // Junk that is no token is counted (metrics) but not audited: a flood of it must not flood the trail.
        if (!isNotAToken(token, verification.reason)) {
          deps.audit?.info({ event: 'token-refused', tokenType: 'encapsulated', reason: verification.reason }, 'token refused');
        }
        return null;
      }
      result = { claims: verification.claims, kid: verification.kid };
      if (deps.verifiedTokenCache !== false) {
        if (verified.size >= VERIFIED_CACHE_SIZE) verified.clear();
        verified.set(token, result);
      }
    } else if (result.claims.exp * 1000 <= nowMs || !crypto.verificationKey(result.kid)) {
      verified.delete(token);
      return null;
    }
    const user = await usableUser(result.claims, 'encapsulated', nowMs);
    return user && encapsulatedAuthentication(user, result, nowMs);
  }

  /** An encapsulated token lives as long as it was signed for; the refresh rule is the same for both kinds. */
  const encapsulatedRefreshesAt = (claims: EncapsulatedClaims) => refreshesAt(settings(), claims.exp * 1000, (claims.exp - claims.iat) * 1000);
  const statefulRefreshesAt = (token: StatefulToken) => refreshesAt(settings(), token.expiresAt, settings().expirationMs);

  /** The session of a verified token of a usable user, renewed past half its life or when its key is retired. */
  function encapsulatedAuthentication(user: User, { claims, kid }: { claims: EncapsulatedClaims; kid: string }, nowMs: number): Authentication {
    const pastHalfLife = nowMs > encapsulatedRefreshesAt(claims);
    const signedByRetiredKey = kid !== crypto.signingKey().kid && crypto.keyIds().retiredHmac.includes(kid);
    if (pastHalfLife || signedByRetiredKey) {
      const renewed = issueEncapsulated(user, nowMs, claims.prv); // the sign-in time in it stays as it was
      return { session: sessionOf(user, 'encapsulated', renewed.expiresAt), renewedToken: renewed.token };
    }
    return { session: sessionOf(user, 'encapsulated', claims.exp * 1000) };
  }

  // The answers `authenticateKept` gave, by the verification or validation they came from. Why:
  // re-checking the key, the renewal conditions and making a new session cost about a third of
  // a kept answer's 0.5 µs (BENCHMARKS.md). An answer is given again only while everything it
  // was checked against is the same object (the kept user, the key set, the token settings: each
  // is replaced, never changed, when it changes) and until it would expire or need renewal.
  interface KeptAnswer {
    readonly user: User;
    /** The key set an encapsulated token's key was checked against; a stateful answer needs none. */
    readonly keys: KeyIds | null;
    readonly settings: TokenSettings;
    readonly until: number;
    readonly authentication: Authentication;
  }
  const keptAnswers = new WeakMap<object, KeptAnswer>();

  function keptAnswer(of: object, user: User, keys: KeyIds | null, nowMs: number): Authentication | undefined {
    const answer = keptAnswers.get(of);
    if (answer && answer.user === user && answer.keys === keys && answer.settings === settings() && nowMs < answer.until) return answer.authentication;
    return undefined;
  }

  function keepAnswer(of: object, user: User, keys: KeyIds | null, until: number, authentication: Authentication): Authentication {
    keptAnswers.set(of, { user, keys, settings: settings(), until, authentication });
    return authentication;
  }

  function keptEncapsulated(token: string, nowMs: number): Authentication | undefined {
    const verification = deps.verifiedTokenCache === false ? undefined : verified.get(token);
    const user = verification && userCache.kept(verification.claims.sub, nowMs);
    if (!verification || !user) return undefined;
    const keys = crypto.keyIds();
    const again = keptAnswer(verification, user, keys, nowMs);
    if (again) return again;
    const { claims, kid } = verification;
    if (claims.exp * 1000 <= nowMs || !crypto.verificationKey(kid) || refusalOf(user, claims) !== null) return undefined;
    const authentication = encapsulatedAuthentication(user, verification, nowMs);
    if (authentication.renewedToken) return authentication;
    return keepAnswer(verification, user, keys, Math.min(claims.exp * 1000, encapsulatedRefreshesAt(claims)), authentication);
  }

  function keptStateful(token: string, nowMs: number): Authentication | undefined {
    const valid = validatedTokens?.kept(token, nowMs);
    const user = valid && userCache.kept(valid.userId, nowMs);
    if (!valid || !user) return undefined;
    // A kept answer was given to this very user object, which passed the check then (a changed user is another object).
    const again = keptAnswer(valid, user, null, nowMs);
    if (again) return again;
    if (refusalOf(user, { sub: valid.userId }) !== null) return undefined;
    const refreshAt = statefulRefreshesAt(valid);
    if (nowMs > refreshAt) return undefined; // a write: authenticateToken
    return keepAnswer(valid, user, null, Math.min(valid.expiresAt, refreshAt), { session: sessionOf(user, 'stateful', valid.expiresAt) });
  }

  /** The token as the repository has it (a hit of the validated-token cache, or one read), or null. */
  async function validStatefulToken(token: string, nowMs: number): Promise<StatefulToken | null> {
    const kept = await validatedTokens?.lookup(token, nowMs);
    if (kept) return kept;
    const epoch = validatedTokens?.epoch() ?? 0;
    const validation = await store.validate(token, nowMs);
    if (!validation.ok) {
      logger?.debug({ reason: validation.reason }, 'stateful token refused');
      if (validation.reason !== MALFORMED_STATEFUL_TOKEN) {
        deps.audit?.info({ event: 'token-refused', tokenType: 'stateful', reason: validation.reason }, 'token refused');
      }
      return null;
    }
    validatedTokens?.remember(token, validation.token, epoch);
    return validation.token;
  }

  async function authenticateStateful(token: string, nowMs: number): Promise<Authentication | null> {
    const valid = await validStatefulToken(token, nowMs);
    if (!valid) return null;
    const user = await usableUser({ sub: valid.userId }, 'stateful', nowMs);
    if (!user) return null;
    if (nowMs > statefulRefreshesAt(valid)) {
      const expiresAt = nowMs + settings().expirationMs;
      // The token is valid: a refresh that cannot be written now (the repository read-only, busy
      // or away) leaves it as it was, and a later request refreshes it. The request goes on.
      const extended = await store.extend(valid.nodeId, expiresAt).then(
        () => true,
        (error: unknown) => {
          logger?.warn({ err: error, userId: user.id }, 'stateful token not refreshed; it keeps its expiry, a later request refreshes it');
          return false;
        },
      );
      if (extended) {
        validatedTokens?.extended(token, expiresAt);
        return { session: sessionOf(user, 'stateful', expiresAt), renewedToken: token };
      }
    }
    return { session: sessionOf(user, 'stateful', valid.expiresAt) };
  }

  const handler: TokenHandler = {
    settings,
    cookieFor: (token, session, https) => tokenCookie(settings(), token, session.token.expiresAt.getTime() - clock.now(), https),

    async login(userId, password, clientAddress) {
      const checked = await handler.checkPassword(userId, password, clientAddress);
      if (!checked.ok) return checked;
      return { ok: true, ...(await handler.issue(checked.user)) };
    },

    checkPassword: (userId, password, clientAddress) => checkPassword(passwordLogin, userId, password, clientAddress),

    async issue(user, options = {}) {
      if (user.disabled) throw new CapsuleError('FORBIDDEN', `${user.id} is disabled`);
      const nowMs = clock.now();
      const kind: TokenKind = settings().encapsulated ? 'encapsulated' : 'stateful';
      // A stateful token lives in this instance's repository only: nothing to provision elsewhere.
      const issued = kind === 'encapsulated' ? issueEncapsulated(user, nowMs, options.provisioning) : await store.create(user, nowMs, settings().expirationMs);
      return { token: issued.token, session: sessionOf(user, kind, issued.expiresAt) };
    },

    authenticate(request) {
      const token = handler.tokenOf(request);
      return token ? handler.authenticateToken(token) : Promise.resolve(null);
    },

    authenticateKept(token) {
      const nowMs = clock.now();
      // Not looksStateful's pattern: only the exact string of a token checked before is found
      // here, so it is enough to tell the kinds apart (a JWS has dots, a stateful token '_' at 36).
      const kind: TokenKind = token.charCodeAt(36) === 95 /* _ */ && !token.includes('.') ? 'stateful' : 'encapsulated';
      const kept = kind === 'stateful' ? keptStateful(token, nowMs) : keptEncapsulated(token, nowMs);
      if (kept) deps.metrics?.tokenVerified(kind, 'valid');
      return kept;
    },

    async authenticateToken(token) {
      const nowMs = clock.now();
      const kind: TokenKind = looksStateful(token) ? 'stateful' : 'encapsulated';
      try {
        const authentication = kind === 'stateful' ? await authenticateStateful(token, nowMs) : await authenticateEncapsulated(token, nowMs);
        deps.metrics?.tokenVerified(kind, authentication ? 'valid' : 'refused');
        return authentication;
      } catch (error) {
        // Only a verdict on the token (bad signature, expired, unknown, user gone) makes a request
        // anonymous, and those are answers, not errors. A token that could not be checked (the
        // repository away, read-only or failing) fails the request (503 for REPOSITORY_UNAVAILABLE):
        // an anonymous answer would log a valid session out.
        logger?.warn({ err: error }, 'token could not be checked');
        deps.metrics?.tokenVerified(kind, 'error');
        throw error;
      }
    },

    tokenOf: (request) => tokenFromRequest(request, settings().cookieName),

    async logout(token) {
      if (looksStateful(token)) await store.remove(token);
    },

    async logoutEverywhere(userId) {
      const result = await logoutEverywhere({ users, store }, userId);
      userCache.invalidate(userId);
      return result;
    },

    removeExpiredTokens: () => store.removeExpired(clock.now()),

    usersChanged() {
      userCache.invalidate();
      validatedTokens?.empty();
    },
  };
  return handler;
}
