import type { BruteForceSettings } from './brute-force-config.js';

/** One account's failures, as the farm store keeps them (Keycloak's UserLoginFailure). */
export interface AccountFailures {
  readonly failures: number;
  readonly lastFailureMs: number;
  readonly lastAddress: string;
  /** 0: not locked for a time. */
  readonly lockedUntilMs: number;
  readonly temporaryLockouts: number;
  readonly permanent: boolean;
}

export type Lockout = 'temporary' | 'permanent';

export interface FailureOutcome {
  readonly record: AccountFailures;
  /** The lockout this failure started, if any. */
  readonly lockout: Lockout | null;
  readonly waitSeconds: number;
}

const NONE: AccountFailures = { failures: 0, lastFailureMs: 0, lastAddress: '', lockedUntilMs: 0, temporaryLockouts: 0, permanent: false };

export function isLocked(record: AccountFailures | null, nowMs: number): boolean {
  return record !== null && (record.permanent || record.lockedUntilMs > nowMs);
}

/**
 * Keycloak's rule (DefaultBruteForceProtector.failure): failures further apart than the reset time
 * start again from nothing; from maxFailures on, each failure locks for waitIncrementSeconds times
 * (failures / maxFailures), at most maxWaitSeconds, and counts a temporary lockout; two failures
 * closer than quickLoginCheckMilliSeconds lock for minimumQuickLoginWaitSeconds at least. With
 * permanentLockout, the lockout at maxFailures (maxTemporaryLockouts 0) or the one after
 * maxTemporaryLockouts temporary ones lasts until an unlock.
 */
export function afterFailure(current: AccountFailures | null, nowMs: number, address: string, settings: BruteForceSettings): FailureOutcome {
  let record = current ?? NONE;
  if (record.lastFailureMs > 0 && nowMs - record.lastFailureMs > settings.maxDeltaTimeSeconds * 1000) record = NONE;
  const sinceLastMs = record.lastFailureMs > 0 ? nowMs - record.lastFailureMs : 0;
  const failures = record.failures + 1;
  let waitSeconds = 0;
  let temporaryLockouts = record.temporaryLockouts;
  let permanent = false;
  if (failures >= settings.maxFailures) {
    if (settings.permanentLockout && settings.maxTemporaryLockouts === 0) permanent = true;
    else {
      waitSeconds = settings.waitIncrementSeconds * Math.floor(failures / settings.maxFailures);
      temporaryLockouts++;
      if (settings.permanentLockout && temporaryLockouts > settings.maxTemporaryLockouts) permanent = true;
    }
  }
  // Keycloak's condition: a failure in the same millisecond is not "quick" (delta > 0).
  if (!permanent && sinceLastMs > 0 && sinceLastMs < settings.quickLoginCheckMilliSeconds) {
    waitSeconds = Math.max(waitSeconds, settings.minimumQuickLoginWaitSeconds);
  }
  waitSeconds = permanent ? 0 : Math.min(waitSeconds, settings.maxWaitSeconds);
  const lockedUntilMs = waitSeconds > 0 ? nowMs + waitSeconds * 1000 : record.lockedUntilMs;
  return {
    record: { failures, lastFailureMs: nowMs, lastAddress: address, lockedUntilMs, temporaryLockouts, permanent },
    lockout: permanent ? 'permanent' : waitSeconds > 0 ? 'temporary' : null,
    waitSeconds,
  };
}

/** Until when the store must keep the record: as long as it locks or may still be added to. */
export function recordEndMs(record: AccountFailures, settings: BruteForceSettings): number {
  if (record.permanent) return Number.MAX_SAFE_INTEGER;
  return Math.max(record.lockedUntilMs, record.lastFailureMs + settings.maxDeltaTimeSeconds * 1000);
}

export function accountFailuresOf(value: Readonly<Record<string, unknown>> | undefined): AccountFailures | null {
  if (value === undefined) return null;
  const number = (name: string) => (typeof value[name] === 'number' ? (value[name] as number) : 0);
  return {
    failures: number('failures'),
    lastFailureMs: number('lastFailureMs'),
    lastAddress: typeof value.lastAddress === 'string' ? value.lastAddress : '',
    lockedUntilMs: number('lockedUntilMs'),
    temporaryLockouts: number('temporaryLockouts'),
    permanent: value.permanent === true,
  };
}
