import { isIP } from 'node:net';
import type { Clock } from '../clock.js';

/**
 * Failed logins per client address, in fixed windows, in this instance's memory. An IPv6 client
 * is counted by its /64 (one subscriber's link: it may pick any address in it), an IPv4 client by
 * its address, and an IPv4 address on a dual-stack socket (`::ffff:a.b.c.d`) as that IPv4 address.
 */
export interface AddressLimiter {
  /**
   * Takes a login attempt before its password is hashed: refused (seconds to wait) when the
   * address's failures in its window and its attempts still being checked reach the limit.
   */
  begin(address: string): AddressAttempt | { readonly retryAfterSeconds: number };
  /** Seconds until the address may try again, 0 when it may now. */
  retryAfter(address: string): number;
  /** A failure counted at once (no attempt taken). */
  failed(address: string): void;
  /** How many addresses have a window now (never more than `maxAddresses`). */
  size(): number;
}

/** An attempt `begin` let through; settle it exactly once. */
export interface AddressAttempt {
  /** A wrong password: one failure of the address. */
  failed(): void;
  /** A right password, or no answer: the place is given back, nothing counted. */
  released(): void;
}

export interface AddressLimits {
  readonly windowMs: number;
  /** The most failures per address (or /64) in one window. */
  readonly limit: number;
  /**
   * Addresses held at most. When full, ended windows go first, then the oldest address under its
   * limit, and a limited address only when every held address is limited (the oldest of them).
   */
  readonly maxAddresses: number;
}

export const DEFAULT_ADDRESS_LIMITS: AddressLimits = { windowMs: 60_000, limit: 30, maxAddresses: 50_000 };

/** The eight 16-bit groups of an IPv6 address WHATWG's URL parser has made canonical (RFC 5952). */
function groupsOfCanonical(canonical: string): number[] {
  const [head = '', tail] = canonical.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16)));
  if (tail === undefined) return parse(head);
  const first = parse(head);
  const last = parse(tail);
  return [...first, ...Array<number>(8 - first.length - last.length).fill(0), ...last];
}

/**
 * The key an address is counted under: `a.b.c.d` for IPv4 (also when written `::ffff:a.b.c.d`),
 * the /64 for IPv6 (`2001:db8:1:2::/64`), and anything else (no address) as given.
 */
export function addressKey(address: string): string {
  if (isIP(address) === 4) return address;
  // A zone (`fe80::1%eth0`) names the interface, not the client.
  const bare = address.includes('%') ? address.slice(0, address.indexOf('%')) : address;
  if (isIP(bare) !== 6) return address;
  // The URL parser expands `::`, embedded IPv4 and upper case, and writes the canonical form back.
  const groups = groupsOfCanonical(new URL(`http://[${bare}]/`).hostname.slice(1, -1));
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  const prefix = groups.slice(0, 4).map((group) => group.toString(16));
  return `${new URL(`http://[${prefix.join(':')}::]/`).hostname.slice(1, -1)}/64`;
}

interface Window {
  readonly start: number;
  failures: number;
  /** Attempts let through and not settled yet. */
  pending: number;
}

export function createAddressLimiter(deps: { readonly clock: Clock; readonly limits?: AddressLimits }): AddressLimiter {
  const { clock } = deps;
  const { windowMs, limit, maxAddresses } = deps.limits ?? DEFAULT_ADDRESS_LIMITS;
  if (!Number.isInteger(maxAddresses) || maxAddresses < 1) throw new RangeError(`maxAddresses must be a positive integer, not ${maxAddresses}`);
  // Two queues in the order their windows were put in (a Map keeps insertion order): addresses
  // under their limit, ordered by the start of their window (so ended ones are at the front), and
  // limited addresses, ordered by when they reached the limit. A flood of new addresses then
  // costs others a partial count, never a lockout; and the table is never emptied at once.
  const counting = new Map<string, Window>();
  const limited = new Map<string, Window>();
  const hasEnded = (window: Window, nowMs: number) => nowMs - window.start >= windowMs;

  function dropEnded(queue: Map<string, Window>, nowMs: number): void {
    for (const [key, window] of queue) {
      if (!hasEnded(window, nowMs)) return;
      queue.delete(key);
    }
  }

  function makeRoom(nowMs: number): void {
    dropEnded(counting, nowMs);
    dropEnded(limited, nowMs);
    while (counting.size + limited.size >= maxAddresses) {
      const queue = counting.size > 0 ? counting : limited;
      queue.delete(queue.keys().next().value!);
    }
  }

  function liveWindow(key: string, nowMs: number): Window | undefined {
    const window = limited.get(key) ?? counting.get(key);
    return window && !hasEnded(window, nowMs) ? window : undefined;
  }

  function currentWindow(key: string, nowMs: number): Window {
    let window = liveWindow(key, nowMs);
    if (!window) {
      counting.delete(key);
      limited.delete(key);
      makeRoom(nowMs);
      window = { start: nowMs, failures: 0, pending: 0 };
      counting.set(key, window);
    }
    return window;
  }

  function recordFailure(key: string): void {
    const window = currentWindow(key, clock.now());
    window.failures++;
    if (window.failures >= limit && counting.delete(key)) limited.set(key, window);
  }

  const secondsLeft = (window: Window, nowMs: number) => Math.max(1, Math.ceil((window.start + windowMs - nowMs) / 1000));

  return {
    begin(address) {
      const key = addressKey(address);
      const nowMs = clock.now();
      const live = liveWindow(key, nowMs);
      if (live && live.failures + live.pending >= limit) return { retryAfterSeconds: secondsLeft(live, nowMs) };
      const window = currentWindow(key, nowMs);
      window.pending++;
      let settled = false;
      const release = () => {
        if (settled) return false;
        settled = true;
        window.pending--;
        return true;
      };
      return {
        failed() {
          if (release()) recordFailure(key);
        },
        released() {
          release();
        },
      };
    },
    retryAfter(address) {
      const nowMs = clock.now();
      const window = limited.get(addressKey(address));
      return window && !hasEnded(window, nowMs) ? secondsLeft(window, nowMs) : 0;
    },
    failed(address) {
      recordFailure(addressKey(address));
    },
    size: () => counting.size + limited.size,
  };
}
