/**
 * Failed logins per user and per client address, in fixed windows. Over the limit, a login is
 * refused before the password is even hashed (which also caps the CPU an attacker can burn).
 */
export interface LoginThrottle {
  /** Seconds to wait, or 0 when a login may be tried now. */
  retryAfter(keys: readonly string[], nowMs: number): number;
  failed(keys: readonly string[], nowMs: number): void;
  succeeded(key: string): void;
}

export interface ThrottleLimits {
  readonly windowMs: number;
  /** The most failures per key prefix ('user:' or 'addr:') in one window. */
  readonly limits: Readonly<Record<string, number>>;
}

export const DEFAULT_THROTTLE: ThrottleLimits = { windowMs: 60_000, limits: { 'user:': 5, 'addr:': 30 } };

export function createLoginThrottle(limits: ThrottleLimits = DEFAULT_THROTTLE, maxKeys = 100_000): LoginThrottle {
  const windows = new Map<string, { start: number; failures: number }>();
  const limitOf = (key: string) => limits.limits[key.slice(0, key.indexOf(':') + 1)] ?? Infinity;
  return {
    retryAfter(keys, nowMs) {
      let wait = 0;
      for (const key of keys) {
        const window = windows.get(key);
        if (window && nowMs - window.start < limits.windowMs && window.failures >= limitOf(key)) {
          wait = Math.max(wait, Math.ceil((window.start + limits.windowMs - nowMs) / 1000));
        }
      }
      return wait;
    },
    failed(keys, nowMs) {
      if (windows.size > maxKeys) windows.clear();
      for (const key of keys) {
        const window = windows.get(key);
        if (!window || nowMs - window.start >= limits.windowMs) windows.set(key, { start: nowMs, failures: 1 });
        else window.failures++;
      }
    },
    succeeded(key) {
      windows.delete(key);
    },
  };
}
