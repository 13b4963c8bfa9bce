import type { Clock } from '../clock.js';
import { CapsuleError, isCapsuleError } from '../errors.js';
import type { FailurePolicy } from './farm-store-config.js';
import type { FarmStore } from './types.js';

/** What the health check and the log say about the store. */
export interface FarmStoreState {
  readonly backend: FarmStore['backend'];
  readonly location: string;
  readonly reachable: boolean;
  readonly policy: FailurePolicy;
  /** Why it was last unreachable (never a password), or null. */
  readonly reason: string | null;
  /** When it became unreachable (by the clock), or null. */
  readonly downSinceMs: number | null;
}

export interface FallbackFarmStore extends FarmStore {
  state(): FarmStoreState;
  /** Replaces the primary store (a changed configuration); the old one is closed. */
  replacePrimary(next: FarmStore): Promise<void>;
}

/** How long, once the store failed, calls go straight to the fallback before the store is tried again. */
export const RETRY_AFTER_FAILURE_MS = 1000;

/**
 * The farm store as its users see it: the primary (PostgreSQL or the repository) while it answers.
 * When it does not (FARM_STORE_UNAVAILABLE), `failure.policy=open` answers from this instance's
 * memory and `closed` lets the error through. The primary is tried again at most once a second
 * (so logins do not each wait for a connection timeout) and by every `ping` (the health check):
 * a recovered store is used again without a restart. Counts kept in memory meanwhile stay there.
 */
export function createFallbackFarmStore(deps: {
  primary: FarmStore;
  fallback: FarmStore;
  policy: () => FailurePolicy;
  clock: Clock;
  onDown?: (state: FarmStoreState) => void;
  onUp?: (state: FarmStoreState) => void;
}): FallbackFarmStore {
  let primary = deps.primary;
  let downSinceMs: number | null = null;
  let lastTryMs = 0;
  let reason: string | null = null;

  const state = (): FarmStoreState => ({
    backend: primary.backend,
    location: primary.location,
    reachable: downSinceMs === null,
    policy: deps.policy(),
    reason,
    downSinceMs,
  });

  function markUp(): void {
    if (downSinceMs === null) return;
    downSinceMs = null;
    reason = null;
    deps.onUp?.(state());
  }

  function markDown(error: Error): void {
    lastTryMs = deps.clock.now();
    reason = error.message;
    if (downSinceMs !== null) return;
    downSinceMs = lastTryMs;
    deps.onDown?.(state());
  }

  async function call<T>(work: (store: FarmStore) => Promise<T>): Promise<T> {
    const skipPrimary = downSinceMs !== null && deps.clock.now() - lastTryMs < RETRY_AFTER_FAILURE_MS;
    if (!skipPrimary) {
      try {
        const result = await work(primary);
        markUp();
        return result;
      } catch (error) {
        if (!isCapsuleError(error, 'FARM_STORE_UNAVAILABLE')) throw error;
        markDown(error);
        if (deps.policy() === 'closed') throw error;
        return work(deps.fallback);
      }
    }
    if (deps.policy() === 'closed') {
      // Said again without waiting on the store: it failed less than a second ago.
      throw new CapsuleError('FARM_STORE_UNAVAILABLE', reason ?? 'the farm store cannot be reached');
    }
    return work(deps.fallback);
  }

  return {
    get backend() {
      return primary.backend;
    },
    get location() {
      return primary.location;
    },
    get: (space, key) => call((store) => store.get(space, key)),
    update: (space, key, change) => call((store) => store.update(space, key, change)),
    // Never answered from memory alone: a removal that must hold farm-wide (an unlock) fails while
    // the store is away, whatever the policy, after clearing this instance's own copy.
    async delete(space, key) {
      const local = await deps.fallback.delete(space, key);
      try {
        const removed = await primary.delete(space, key);
        markUp();
        return removed || local;
      } catch (error) {
        if (isCapsuleError(error, 'FARM_STORE_UNAVAILABLE')) markDown(error);
        throw error;
      }
    },
    // The memory fallback forgets on its own; expiry is the primary's business.
    removeExpired: () => primary.removeExpired(),
    async ping() {
      try {
        await primary.ping();
        markUp();
      } catch (error) {
        if (isCapsuleError(error, 'FARM_STORE_UNAVAILABLE')) markDown(error);
        throw error;
      }
    },
    state,
    async replacePrimary(next) {
      const old = primary;
      primary = next;
      downSinceMs = null;
      reason = null;
      await old.close();
    },
    async close() {
      await primary.close();
      await deps.fallback.close();
    },
  };
}
