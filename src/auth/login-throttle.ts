import { createAddressLimiter, type AddressAttempt } from './address-limit.js';

/**
 * Failed logins per user and per client address, in fixed windows. Over the limit, a login is
 * refused before the password is even hashed (which also caps the CPU an attacker can burn).
 */
export interface LoginThrottle {
  /**
   * Takes a login attempt before its password is hashed: refused (seconds to wait) when, for a
   * key, the failures of its window and the attempts still being checked reach the limit. Else
   * the attempt holds a place on each key until it is settled. Counting only failures let every
   * guess sent at once through while the first ones were still being hashed.
   */
  begin(keys: readonly string[], nowMs: number): LoginAttempt | { readonly retryAfterSeconds: number };
  /** Seconds to wait, or 0 when a login may be tried now. */
  retryAfter(keys: readonly string[], nowMs: number): number;
  failed(keys: readonly string[], nowMs: number): void;
  succeeded(key: string): void;
  /** How many keys have a window now (never more than the throttle's `maxKeys`). */
  size(): number;
}

/** An attempt `begin` let through; settle it exactly once. */
export interface LoginAttempt {
  /** A wrong password: counted as a failure of each key. */
  failed(nowMs: number): void;
  /** A right one: the attempt's places are given back and the windows of `resetKeys` end. */
  succeeded(resetKeys: readonly string[]): void;
  /** No answer (the repository is away): the places are given back, nothing is counted. */
  abandoned(): void;
}

export interface ThrottleLimits {
  readonly windowMs: number;
  /** The most failures per key prefix ('user:' or 'addr:') in one window. */
  readonly limits: Readonly<Record<string, number>>;
}

export const DEFAULT_THROTTLE: ThrottleLimits = { windowMs: 60_000, limits: { 'user:': 5, 'addr:': 30 } };

/**
 * Keys held at most, by each part: the users, and the addresses (./address-limit.ts). A key is
 * 'user:' and a name of at most 128 characters (longer ones are refused before they get here) or
 * 'addr:' and an address: a full throttle held about 12 MB (measured with both in one table).
 */
export const DEFAULT_MAX_THROTTLE_KEYS = 50_000;

interface Window {
  readonly start: number;
  failures: number;
  /** Attempts let through and not settled yet. */
  pending: number;
}

export function createLoginThrottle(limits: ThrottleLimits = DEFAULT_THROTTLE, maxKeys = DEFAULT_MAX_THROTTLE_KEYS): LoginThrottle {
  if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new RangeError(`maxKeys must be a positive integer, not ${maxKeys}`);
  // Two queues, each in the order its windows were put in (a Map keeps insertion order): keys
  // still counting, and keys at their limit. When full, the oldest counting key goes first: a
  // flood of new names then costs others a partial count, never a lockout. Only a throttle full
  // of lockouts drops its oldest lockout (the one closest to its end anyway).
  const counting = new Map<string, Window>();
  const locked = new Map<string, Window>();
  const limitOf = (key: string) => limits.limits[key.slice(0, key.indexOf(':') + 1)] ?? Infinity;
  const isOver = (window: Window, nowMs: number) => nowMs - window.start >= limits.windowMs;
  // 'addr:' keys are counted by the address limiter (an IPv6 /64 as one key, its own bounded
  // table). It reads the time from a Clock; here that is the time the caller passed in.
  let callNowMs = 0;
  const addresses = createAddressLimiter({
    clock: { now: () => callNowMs },
    limits: { windowMs: limits.windowMs, limit: limits.limits['addr:'] ?? Infinity, maxAddresses: maxKeys },
  });
  const isAddress = (key: string) => key.startsWith('addr:');
  const addressOf = (key: string) => key.slice('addr:'.length);

  // `counting` is ordered by start, so its expired windows are at its front; `locked` by the
  // time each reached its limit, so a few expired ones may wait behind a live one until later.
  function dropExpired(queue: Map<string, Window>, nowMs: number): void {
    for (const [key, window] of queue) {
      if (!isOver(window, nowMs)) return;
      queue.delete(key);
    }
  }

  function makeRoom(nowMs: number): void {
    dropExpired(counting, nowMs);
    dropExpired(locked, nowMs);
    while (counting.size + locked.size >= maxKeys) {
      const queue = counting.size > 0 ? counting : locked;
      queue.delete(queue.keys().next().value!);
    }
  }

  function endWindow(key: string): void {
    counting.delete(key);
    locked.delete(key);
  }

  function liveWindow(key: string, nowMs: number): Window | undefined {
    const window = locked.get(key) ?? counting.get(key);
    return window && !isOver(window, nowMs) ? window : undefined;
  }

  /** The key's window now, a new one when it has none or its window ended. */
  function currentWindow(key: string, nowMs: number): Window {
    let window = liveWindow(key, nowMs);
    if (!window) {
      counting.delete(key);
      locked.delete(key);
      makeRoom(nowMs);
      window = { start: nowMs, failures: 0, pending: 0 };
      counting.set(key, window);
    }
    return window;
  }

  function recordFailure(key: string, nowMs: number): void {
    const window = currentWindow(key, nowMs);
    window.failures++;
    if (window.failures >= limitOf(key) && counting.delete(key)) locked.set(key, window);
  }

  return {
    begin(allKeys, nowMs) {
      callNowMs = nowMs;
      const keys = allKeys.filter((key) => !isAddress(key));
      const taken: AddressAttempt[] = [];
      let wait = 0;
      for (const key of allKeys.filter(isAddress)) {
        const attempt = addresses.begin(addressOf(key));
        if ('retryAfterSeconds' in attempt) wait = Math.max(wait, attempt.retryAfterSeconds);
        else taken.push(attempt);
      }
      for (const key of keys) {
        const window = liveWindow(key, nowMs);
        if (window && window.failures + window.pending >= limitOf(key)) {
          wait = Math.max(wait, Math.ceil((window.start + limits.windowMs - nowMs) / 1000), 1);
        }
      }
      if (wait > 0) {
        for (const attempt of taken) attempt.released();
        return { retryAfterSeconds: wait };
      }
      const held = keys.map((key) => {
        const window = currentWindow(key, nowMs);
        window.pending++;
        return window;
      });
      let settled = false;
      const release = () => {
        if (settled) return false;
        settled = true;
        for (const window of held) window.pending--;
        return true;
      };
      return {
        failed(failedAtMs) {
          if (!release()) return;
          callNowMs = failedAtMs;
          for (const attempt of taken) attempt.failed();
          for (const key of keys) recordFailure(key, failedAtMs);
        },
        succeeded(resetKeys) {
          if (!release()) return;
          for (const attempt of taken) attempt.released();
          for (const key of resetKeys) endWindow(key);
        },
        abandoned() {
          if (release()) for (const attempt of taken) attempt.released();
        },
      };
    },
    retryAfter(allKeys, nowMs) {
      callNowMs = nowMs;
      const keys = allKeys.filter((key) => !isAddress(key));
      let wait = Math.max(0, ...allKeys.filter(isAddress).map((key) => addresses.retryAfter(addressOf(key))));
      for (const key of keys) {
        const window = locked.get(key);
        if (window && !isOver(window, nowMs)) {
          wait = Math.max(wait, Math.ceil((window.start + limits.windowMs - nowMs) / 1000));
        }
      }
      return wait;
    },
    failed(keys, nowMs) {
      callNowMs = nowMs;
      for (const key of keys) {
        if (isAddress(key)) addresses.failed(addressOf(key));
        else recordFailure(key, nowMs);
      }
    },
    succeeded: endWindow,
    size: () => counting.size + locked.size + addresses.size(),
  };
}
