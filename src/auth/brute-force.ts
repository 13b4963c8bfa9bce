import type { Clock } from '../clock.js';
import type { FarmRecord, FarmStore } from '../farm-store/index.js';
import type { Log } from '../log.js';
import type { BruteForceSettings } from './brute-force-config.js';
import { accountFailuresOf, afterFailure, isLocked, recordEndMs, type AccountFailures, type FailureOutcome, type Lockout } from './brute-force-rule.js';

/** The farm store's space of failed logins, one record per account name. */
export const LOGIN_FAILURES_SPACE = 'login-failures';

export type AccountLockEvent = Lockout | 'unlock';

export interface BruteForceDeps {
  readonly store: FarmStore;
  readonly clock: Clock;
  readonly settings: () => BruteForceSettings;
  readonly audit: Log;
  /** The instance's name, in every audit line (which member saw it). */
  readonly member: () => string;
  readonly metrics?: { accountLock(event: AccountLockEvent): void };
}

/** A login the protector let through to the password check; settle it exactly once. */
export interface CountedAttempt {
  readonly refused: false;
  /** A wrong password: counted on the farm store; says the lockout it started, if any. */
  failed(clientAddress: string): Promise<FailureOutcome | null>;
  /** A right one: the account's failures are forgotten farm-wide (Keycloak's successfulLogin). */
  succeeded(): Promise<void>;
  /** No answer (the repository is away): nothing is counted. */
  abandoned(): void;
}

export type AttemptAdmission = CountedAttempt | { readonly refused: true; readonly reason: 'locked' | 'attempts-in-flight' };

export interface BruteForceProtector {
  /**
   * Before the password is hashed: refused while the account is locked, or while as many of its
   * attempts as it has failures left before a lockout are being checked on this instance (a burst
   * of guesses sent at once is not all checked before the first failures are counted).
   * FARM_STORE_UNAVAILABLE when the store is away and `failure.policy=closed`.
   */
  begin(userId: string): Promise<AttemptAdmission>;
  /** The account's failures now, or null when it has none. */
  status(userId: string): Promise<AccountFailures | null>;
  /**
   * Forgets the account's failures and any lockout, farm-wide; false when it had none. Fails
   * with FARM_STORE_UNAVAILABLE while the store is away (an unlock of one member alone would not hold).
   */
  unlock(userId: string, by: string, clientAddress?: string): Promise<boolean>;
}

/** A record of an account locked now: what a full memory fallback gives up last. */
export function isLockedRecord(space: string, record: FarmRecord, nowMs: number): boolean {
  return space === LOGIN_FAILURES_SPACE && isLocked(accountFailuresOf(record.value), nowMs);
}

export function createBruteForceProtector(deps: BruteForceDeps): BruteForceProtector {
  const { store, audit } = deps;
  // Attempts being checked on this instance per account: an entry lives while a login of that
  // account is in flight, so the map never holds more names than logins run at once.
  const inFlight = new Map<string, number>();
  const hold = (userId: string) => inFlight.set(userId, (inFlight.get(userId) ?? 0) + 1);
  const letGo = (userId: string) => {
    const left = (inFlight.get(userId) ?? 1) - 1;
    if (left > 0) inFlight.set(userId, left);
    else inFlight.delete(userId);
  };

  const status = async (userId: string) => accountFailuresOf((await store.get(LOGIN_FAILURES_SPACE, userId))?.value);

  return {
    status,
    async begin(userId) {
      const settings = deps.settings();
      if (!settings.enabled) return { refused: false, failed: async () => null, succeeded: async () => undefined, abandoned: () => undefined };
      const record = await status(userId);
      if (isLocked(record, deps.clock.now())) return { refused: true, reason: 'locked' };
      const left = Math.max(1, settings.maxFailures - (record?.failures ?? 0));
      if ((inFlight.get(userId) ?? 0) >= left) return { refused: true, reason: 'attempts-in-flight' };
      hold(userId);
      let settled = false;
      const settle = () => {
        if (settled) return false;
        settled = true;
        letGo(userId);
        return true;
      };
      return {
        refused: false,
        async failed(clientAddress) {
          if (!settle()) return null;
          let outcome: FailureOutcome | null = null;
          await store.update(LOGIN_FAILURES_SPACE, userId, (current, atMs) => {
            outcome = afterFailure(accountFailuresOf(current?.value), atMs, clientAddress, settings);
            return { value: { ...outcome.record }, expiresAtMs: recordEndMs(outcome.record, settings) };
          });
          const counted = outcome as FailureOutcome | null;
          if (counted?.lockout) {
            deps.metrics?.accountLock(counted.lockout);
            audit.warn(
              {
                event: 'account-locked',
                lockout: counted.lockout,
                userId,
                clientAddress,
                member: deps.member(),
                failures: counted.record.failures,
                ...(counted.lockout === 'temporary' && { until: new Date(counted.record.lockedUntilMs).toISOString(), waitSeconds: counted.waitSeconds }),
              },
              counted.lockout === 'permanent' ? 'account locked until unlocked' : 'account locked for a time',
            );
          }
          return counted;
        },
        async succeeded() {
          if (!settle()) return;
          // An update, not a delete: while the store is away (policy open) it is answered from memory.
          if (record !== null) await store.update(LOGIN_FAILURES_SPACE, userId, () => null);
        },
        abandoned() {
          settle();
        },
      };
    },
    async unlock(userId, by, clientAddress) {
      const had = await store.delete(LOGIN_FAILURES_SPACE, userId);
      deps.metrics?.accountLock('unlock');
      audit.info({ event: 'account-unlocked', userId, by, ...(clientAddress !== undefined && { clientAddress }), member: deps.member(), hadFailures: had }, 'account unlocked: its failed logins are forgotten farm-wide');
      return had;
    },
  };
}
