import type { Clock } from '../../clock.js';
import type { FarmStore } from '../../farm-store/index.js';

/**
 * Each assertion is accepted once: node-saml keeps no record of the assertions it accepted, and
 * an IdP-initiated response is bound to no request, so without this a captured response signs in
 * again until it expires. The ACS claims the assertion's ID (with the provider's name) after
 * every other check passed, until the assertion's end of validity plus the clock tolerance, and
 * the ID of the request it answers, until the request's lifetime ends.
 *
 * An instance uses the farm store's (`createFarmReplayStore`): behind a load balancer, a response
 * used on one member is refused on all. The memory store is per process (for tests and tools).
 */
export interface AssertionReplayStore {
  /** Records `key` as used until `until`; false when it is already recorded (a replay). */
  claim(key: string, until: Date): Promise<boolean>;
}

export function createMemoryReplayStore(deps: { clock: Clock }): AssertionReplayStore {
  const used = new Map<string, number>();
  let sizeAfterSweep = 0;
  const sweep = (nowMs: number) => {
    for (const [key, untilMs] of used) if (untilMs <= nowMs) used.delete(key);
    sizeAfterSweep = used.size;
  };
  return {
    async claim(key, until) {
      const nowMs = deps.clock.now();
      // Sweeping when the map has doubled keeps the cost per claim constant on average.
      if (used.size >= 2 * Math.max(sizeAfterSweep, 512)) sweep(nowMs);
      const recorded = used.get(key);
      if (recorded !== undefined && recorded > nowMs) return false;
      used.set(key, until.getTime());
      return true;
    },
  };
}

/** The farm store's space of assertions already used, one record per provider and assertion ID. */
export const SAML_ASSERTIONS_SPACE = 'saml-assertions';

/**
 * Assertions claimed on the farm store: a response used on one member is refused on every member
 * sharing the store (and, without one, across restarts of this instance: its repository).
 */
export function createFarmReplayStore(store: FarmStore): AssertionReplayStore {
  return {
    async claim(key, until) {
      const { before } = await store.update(SAML_ASSERTIONS_SPACE, key, (current) => current ?? { value: {}, expiresAtMs: until.getTime() });
      return before === null;
    },
  };
}
