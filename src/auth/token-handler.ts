import type { Clock } from '../clock.js';
import type { ConfigAdmin } from '../config/index.js';
import type { CryptoSupport } from '../crypto/index.js';
import { CapsuleError } from '../errors.js';
import type { Log } from '../log.js';
import { watchCounters, type Repository } from '../repository/index.js';
import type { SessionRegistry, SignInMethod } from '../sessions/index.js';
import { USERS_COUNTER, type User, type UserManager } from '../users/index.js';
import { tokenCookie, tokenFromRequest } from './cookies.js';
import { createEncapsulatedKind } from './encapsulated-kind.js';
import { createRepositoryFarmStore } from '../farm-store/index.js';
import { BRUTE_FORCE_PID, bruteForceSettings } from './brute-force-config.js';
import { createBruteForceProtector, type AccountLockEvent, type BruteForceProtector } from './brute-force.js';
import { createLoginThrottle, type LoginThrottle } from './login-throttle.js';
import { logoutEverywhere } from './logout-everywhere.js';
import { checkPassword, type LoginOutcome, type PasswordCheck } from './password-login.js';
import { createStatefulKind } from './stateful-kind.js';
import { createStatefulTokenStore, looksStateful, STATEFUL_TOKENS_COUNTER } from './stateful-tokens.js';
import { TOKEN_PID, tokenSettings, type TokenSettings } from './token-config.js';
import { sessionOf, type TokenKindHandler } from './token-kind.js';
import { createTokenUsers } from './token-users.js';
import type { Authentication, AuthLogger, IssueOptions, Provisioner, Session, TokenKind, TokenRequest } from './types.js';
import { createUserCache } from './user-cache.js';
import { createValidatedTokens } from './validated-tokens.js';

export type TokenOutcome = 'valid' | 'refused' | 'error';

/** Counters the handler bumps (Prometheus in an instance): each call must be cheap, it sits on every request. */
export interface AuthMetrics {
  login(outcome: LoginOutcome): void;
  accountLock(event: AccountLockEvent): void;
  tokenVerified(kind: TokenKind, outcome: TokenOutcome): void;
}

export interface TokenHandlerDeps {
  readonly repo: Repository;
  readonly users: UserManager;
  readonly crypto: CryptoSupport;
  readonly config: ConfigAdmin;
  readonly clock: Clock;
  readonly logger: AuthLogger;
  /** The audit trail: one line per login and per refused well-formed token (user, address, reason; never a password or token). */
  readonly audit: Log;
  /** Sessions: a sign-in starts one, its tokens carry its id, and a token of an ended one is refused. */
  readonly sessions: SessionRegistry;
  /** Members of this group signing in with a password are the replication transport (sessions record method 'transport'). */
  readonly transportGroup?: string;
  readonly metrics?: AuthMetrics;
  readonly throttle?: LoginThrottle;
  /** Failed logins per account (default: counted on this instance's repository). */
  readonly bruteForce?: BruteForceProtector;
  /** The instance's name, in audit lines (default 'this instance'). */
  readonly member?: () => string;
  /** How long a loaded user is trusted on the token path (default 5 s). */
  readonly userCacheTtlMs?: number;
  /** Remember verified encapsulated tokens (expiry, key and generation are still checked every time). */
  readonly verifiedTokenCache?: boolean;
  /** Remember validated stateful tokens until a token or user change (validated-tokens.ts); expiry and the user are still checked every time. */
  readonly validatedTokenCache?: boolean;
  /** Creates a user missing here from a token's provisioning claim (OpenID Connect); without it such tokens are refused. */
  readonly provisioner?: Provisioner;
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
  /** `checkPassword`, then `issue` with a session of method 'password' (or 'transport'): the form login. */
  login(userId: string, password: string, clientAddress: string, userAgent?: string): Promise<LoginResult>;
  /** Checks a password (throttled per client address, counted per account on the farm store); issues nothing. A user name no user can have is INVALID_ARGUMENT. */
  checkPassword(userId: string, password: string, clientAddress: string): Promise<PasswordCheck>;
  /**
   * Issues a token of the configured kind for a user some handler has already authenticated
   * (password, OpenID Connect, a transport user). The one way a token comes into being. With
   * `signIn`, a session is started first and the token carries its id.
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
  /** Ends one token (a stateful token is deleted; an encapsulated one simply stops being sent) and the session it names. */
  logout(token: string): Promise<void>;
  /** Deletes the user's stateful tokens and raises its generation: every token issued before ends; so do its sessions. `by`: who asked (default the user). */
  logoutEverywhere(userId: string, by?: string): Promise<{ statefulTokensRemoved: number; generation: number }>;
  removeExpiredTokens(): Promise<number>;
  /** Stops watching the repository's counters; await it before closing the repository. */
  close(): Promise<void>;
}

export const MAX_TOKENS_PER_USER = 50;

/** How long a change by another process may go unseen by the handler's caches (PostgreSQL announces it at once). */
const CHANGES_RECHECK_MS = 500;

export function createTokenHandler(deps: TokenHandlerDeps): TokenHandler {
  const { users, config, clock, logger, sessions } = deps;
  const member = deps.member ?? (() => 'this instance');
  const bruteForce =
    deps.bruteForce ??
    createBruteForceProtector({
      store: createRepositoryFarmStore({ repo: deps.repo, clock }),
      clock,
      settings: () => bruteForceSettings(config.current(BRUTE_FORCE_PID)),
      audit: deps.audit,
      member,
      metrics: deps.metrics,
    });
  const passwordLoginDeps = { users, clock, throttle: deps.throttle ?? createLoginThrottle(), bruteForce, member, audit: deps.audit, metrics: deps.metrics };
  const userCacheTtlMs = deps.userCacheTtlMs ?? 5_000;
  const userCache = createUserCache(users, userCacheTtlMs);
  const store = createStatefulTokenStore({ repo: deps.repo, maxPerUser: () => MAX_TOKENS_PER_USER });
  // The one way changes of users and stateful tokens reach the caches below, whoever made them:
  // this process's transactions as they commit (a user manager's, the token store's, the
  // replication receiver's), other processes' at the next look (kept paths ask `lookIfDue`).
  const changes = watchCounters(deps.repo, {
    handlers: {
      [USERS_COUNTER]: () => {
        userCache.invalidate();
        validatedTokens?.empty();
      },
      [STATEFUL_TOKENS_COUNTER]: () => validatedTokens?.empty(),
    },
    clock,
    recheckMs: CHANGES_RECHECK_MS,
    ownCommits: true,
  });
  const validatedTokens = deps.validatedTokenCache === false ? undefined : createValidatedTokens({ watch: changes });

  let cachedSettings: TokenSettings | undefined;
  config.onChange(TOKEN_PID, () => {
    cachedSettings = undefined;
  });
  const settings = () => (cachedSettings ??= tokenSettings(config.current(TOKEN_PID)));

  const tokenUsers = createTokenUsers({ userCache, changes, userCacheTtlMs, provisioner: deps.provisioner, logger, audit: deps.audit });
  const kinds: Readonly<Record<TokenKind, TokenKindHandler>> = {
    stateful: createStatefulKind({ store, validatedTokens, settings, userCache, tokenUsers, sessions, logger, audit: deps.audit }),
    encapsulated: createEncapsulatedKind({ crypto: deps.crypto, settings, userCache, changes, tokenUsers, sessions, verifiedTokenCache: deps.verifiedTokenCache !== false, logger, audit: deps.audit }),
  };
  const kindOf = (token: string): TokenKind => (looksStateful(token) ? 'stateful' : 'encapsulated');

  const handler: TokenHandler = {
    settings,
    cookieFor: (token, session, https) => tokenCookie(settings(), token, session.token.expiresAt.getTime() - clock.now(), https),

    async login(userId, password, clientAddress, userAgent = '') {
      const checked = await handler.checkPassword(userId, password, clientAddress);
      if (!checked.ok) return checked;
      const { user } = checked;
      const method: SignInMethod = deps.transportGroup !== undefined && user.groups.includes(deps.transportGroup) ? 'transport' : 'password';
      return { ok: true, ...(await handler.issue(user, { signIn: { method, clientAddress, userAgent } })) };
    },

    checkPassword: (userId, password, clientAddress) => checkPassword(passwordLoginDeps, userId, password, clientAddress),

    async issue(user, options = {}) {
      if (user.disabled) throw new CapsuleError('FORBIDDEN', `${user.id} is disabled`);
      const nowMs = clock.now();
      const kind: TokenKind = settings().encapsulated ? 'encapsulated' : 'stateful';
      // Fails (SIGN_IN_UNAVAILABLE) when the session cannot be recorded and the farm store's policy is closed: no token then.
      const sessionId = options.signIn ? await sessions.start(user, options.signIn, nowMs + settings().expirationMs) : undefined;
      const issued = await kinds[kind].issue(user, nowMs, { provisioning: options.provisioning, sessionId });
      return { token: issued.token, session: sessionOf(user, kind, issued.expiresAt, sessionId) };
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
      const kept = kinds[kind].kept(token, nowMs);
      if (kept) {
        deps.metrics?.tokenVerified(kind, 'valid');
        if (kept.session.sessionId !== undefined) sessions.seen(kept.session.sessionId, nowMs);
      }
      return kept;
    },

    async authenticateToken(token) {
      const nowMs = clock.now();
      const kind = kindOf(token);
      try {
        const authentication = await kinds[kind].check(token, nowMs);
        deps.metrics?.tokenVerified(kind, authentication ? 'valid' : 'refused');
        if (authentication?.session.sessionId !== undefined) sessions.seen(authentication.session.sessionId, nowMs);
        return authentication;
      } catch (error) {
        // Only a verdict on the token (bad signature, expired, unknown, user gone) makes a request
        // anonymous, and those are answers, not errors. A token that could not be checked (the
        // repository away, read-only or failing) fails the request (503 for REPOSITORY_UNAVAILABLE):
        // an anonymous answer would log a valid session out.
        logger.warn({ err: error }, 'token could not be checked');
        deps.metrics?.tokenVerified(kind, 'error');
        throw error;
      }
    },

    tokenOf: (request) => tokenFromRequest(request, settings().cookieName),

    async logout(token) {
      const ended = await kinds[kindOf(token)].end(token, clock.now());
      if (!ended) return;
      // Refused here at once, whatever the store says: a logout never fails because the store is away.
      sessions.endLocally?.(ended.sessionId);
      await sessions.revoke(ended.userId, ended.sessionId, ended.userId, 'logged-out').catch((error: unknown) =>
        logger.warn(
          { userId: ended.userId, session: ended.sessionId, err: error },
          'logged out on this member, but its session could not be ended on the session store: other members accept its token until it expires',
        ),
      );
    },

    async logoutEverywhere(userId, by = userId) {
      const result = await logoutEverywhere({ users, store }, userId);
      // The raised generation already refuses every token of every session; this lists them as ended.
      await sessions.revokeAll(userId, by, 'logged-out').catch((error: unknown) => logger.warn({ err: error, userId }, 'logged out everywhere, but its sessions are not marked ended (they are refused by generation)'));
      return result;
    },

    removeExpiredTokens: () => store.removeExpired(clock.now()),
    close: () => changes.stop(),
  };
  return handler;
}
