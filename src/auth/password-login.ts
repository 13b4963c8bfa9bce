import type { Clock } from '../clock.js';
import { CapsuleError } from '../errors.js';
import type { Log } from '../log.js';
import type { User, UserManager } from '../users/index.js';
import { fitsLoginName, LOGIN_NAME_TOO_LONG, loggedLoginName } from './login-name.js';
import type { LoginThrottle } from './login-throttle.js';

export type LoginOutcome = 'success' | 'failure' | 'throttled';

/** The outcome of a password check: the user, or how long the caller must wait (0: just wrong). */
export type PasswordCheck = { readonly ok: true; readonly user: User } | { readonly ok: false; readonly retryAfterSeconds: number };

export interface PasswordLoginDeps {
  readonly users: UserManager;
  readonly clock: Clock;
  readonly throttle: LoginThrottle;
  /** One line per attempt: user, address, outcome (never the password). */
  readonly audit: Log;
  readonly metrics?: { login(outcome: LoginOutcome): void };
}

/**
 * Checks a password (throttled per user and per client address); issues nothing. A user name no
 * user can have is INVALID_ARGUMENT.
 */
export async function checkPassword(deps: PasswordLoginDeps, userId: string, password: string, clientAddress: string): Promise<PasswordCheck> {
  const { users, clock, throttle, audit, metrics } = deps;
  if (!fitsLoginName(userId)) {
    audit.warn({ event: 'login', outcome: 'refused', userId: loggedLoginName(userId), clientAddress, reason: 'user name too long' }, 'login refused');
    throw new CapsuleError('INVALID_ARGUMENT', LOGIN_NAME_TOO_LONG);
  }
  const nowMs = clock.now();
  const keys = [`user:${userId}`, `addr:${clientAddress}`];
  // The attempt is taken before the password is hashed (off the event loop, so many run at
  // once): logins in flight count against the limit, or a burst of guesses all get checked.
  const attempt = throttle.begin(keys, nowMs);
  if ('retryAfterSeconds' in attempt) {
    const wait = attempt.retryAfterSeconds;
    metrics?.login('throttled');
    audit.warn({ event: 'login', outcome: 'throttled', userId, clientAddress, retryAfterSeconds: wait }, 'login throttled');
    return { ok: false, retryAfterSeconds: wait };
  }
  let user: User | null;
  try {
    user = await users.authenticate(userId, password);
  } catch (error) {
    attempt.abandoned();
    throw error;
  }
  if (!user) {
    attempt.failed(clock.now());
    metrics?.login('failure');
    audit.warn({ event: 'login', outcome: 'failure', userId, clientAddress }, 'login failed');
    return { ok: false, retryAfterSeconds: 0 };
  }
  attempt.succeeded([`user:${userId}`]);
  metrics?.login('success');
  audit.info({ event: 'login', outcome: 'success', userId, clientAddress }, 'login');
  return { ok: true, user };
}
