import type { Clock } from '../clock.js';
import { CapsuleError, isCapsuleError } from '../errors.js';
import type { Log } from '../log.js';
import type { User, UserManager } from '../users/index.js';
import type { BruteForceProtector } from './brute-force.js';
import { fitsLoginName, LOGIN_NAME_TOO_LONG, loggedLoginName } from './login-name.js';
import type { LoginThrottle } from './login-throttle.js';

export type LoginOutcome = 'success' | 'failure' | 'throttled' | 'locked' | 'unavailable';

/** The outcome of a password check: the user, or how long the caller must wait (0: just wrong). */
export type PasswordCheck = { readonly ok: true; readonly user: User } | { readonly ok: false; readonly retryAfterSeconds: number };

export interface PasswordLoginDeps {
  readonly users: UserManager;
  readonly clock: Clock;
  /** Per client address, in this instance's memory. */
  readonly throttle: LoginThrottle;
  /** Per account, on the farm store. */
  readonly bruteForce: BruteForceProtector;
  /** The instance's name, in every audit line. */
  readonly member: () => string;
  /** One line per attempt: user, address, member, outcome (never the password). */
  readonly audit: Log;
  readonly metrics?: { login(outcome: LoginOutcome): void };
}

/** The farm store is away and `failure.policy=closed`: no password is checked, right or wrong. */
function signInUnavailable(error: unknown): unknown {
  if (!isCapsuleError(error, 'FARM_STORE_UNAVAILABLE')) return error;
  return new CapsuleError('SIGN_IN_UNAVAILABLE', 'sign-in is unavailable: the farm store cannot be reached and failure.policy is closed; try again later', { cause: error });
}

/**
 * Checks a password; issues nothing. Throttled per client address (in memory) and counted per
 * account on the farm store (Keycloak's brute force detection), both before the password is
 * hashed. A locked account is answered as a wrong password, in the time of one. A user name no
 * user can have is INVALID_ARGUMENT.
 */
export async function checkPassword(deps: PasswordLoginDeps, userId: string, password: string, clientAddress: string): Promise<PasswordCheck> {
  const { users, clock, throttle, bruteForce, audit, metrics } = deps;
  const member = deps.member();
  if (!fitsLoginName(userId)) {
    audit.warn({ event: 'login', outcome: 'refused', userId: loggedLoginName(userId), clientAddress, member, reason: 'user name too long' }, 'login refused');
    throw new CapsuleError('INVALID_ARGUMENT', LOGIN_NAME_TOO_LONG);
  }
  // The attempt is taken before the password is hashed (off the event loop, so many run at
  // once): logins in flight count against the limit, or a burst of guesses all get checked.
  const attempt = throttle.begin([`addr:${clientAddress}`], clock.now());
  if ('retryAfterSeconds' in attempt) {
    const wait = attempt.retryAfterSeconds;
    metrics?.login('throttled');
    audit.warn({ event: 'login', outcome: 'throttled', userId, clientAddress, member, retryAfterSeconds: wait }, 'login throttled');
    return { ok: false, retryAfterSeconds: wait };
  }
  let admission: Awaited<ReturnType<BruteForceProtector['begin']>>;
  try {
    admission = await bruteForce.begin(userId);
  } catch (error) {
    attempt.abandoned();
    if (isCapsuleError(error, 'FARM_STORE_UNAVAILABLE')) {
      metrics?.login('unavailable');
      audit.warn({ event: 'login', outcome: 'unavailable', userId, clientAddress, member, reason: 'farm store unreachable, failure.policy=closed' }, 'login refused: sign-in unavailable');
    }
    throw signInUnavailable(error);
  }
  if (admission.refused) {
    // The same answer as a wrong password, in its time, and never a look at this password's hash.
    await users.wrongPasswordTime(password);
    attempt.failed(clock.now());
    metrics?.login('locked');
    audit.warn({ event: 'login', outcome: 'locked', userId, clientAddress, member, reason: admission.reason }, 'login refused: account locked');
    return { ok: false, retryAfterSeconds: 0 };
  }
  let user: User | null;
  try {
    user = await users.authenticate(userId, password);
  } catch (error) {
    attempt.abandoned();
    admission.abandoned();
    throw error;
  }
  if (!user) {
    attempt.failed(clock.now());
    let failures: number | undefined;
    try {
      failures = (await admission.failed(clientAddress))?.record.failures;
    } catch (error) {
      throw signInUnavailable(error);
    } finally {
      metrics?.login('failure');
      audit.warn({ event: 'login', outcome: 'failure', userId, clientAddress, member, ...(failures !== undefined && { failures }) }, 'login failed');
    }
    return { ok: false, retryAfterSeconds: 0 };
  }
  attempt.succeeded([]);
  try {
    await admission.succeeded();
  } catch (error) {
    throw signInUnavailable(error);
  }
  metrics?.login('success');
  audit.info({ event: 'login', outcome: 'success', userId, clientAddress, member }, 'login');
  return { ok: true, user };
}
