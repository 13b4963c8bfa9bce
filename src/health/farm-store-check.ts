import type { FallbackFarmStore } from '../farm-store/index.js';
import type { HealthCheck } from './registry.js';

export const FARM_STORE_CHECK = 'farm-store';

/**
 * The farm store answers; when it does not, what logins do meanwhile (failure.policy). Not a
 * readiness check: with `open` the instance still serves logins, and with `closed` taking every
 * member out of the load balancer would not bring the store back.
 */
export function farmStoreCheck(store: FallbackFarmStore): HealthCheck {
  return {
    name: FARM_STORE_CHECK,
    title: 'Farm store',
    readiness: false,
    async run() {
      try {
        await store.ping();
      } catch {
        // The state says why (ping recorded it), never a password.
      }
      const state = store.state();
      const details = { backend: state.backend, location: state.location, reachable: state.reachable, policy: state.policy };
      if (state.reachable) return { status: 'ok', message: `${state.backend === 'postgres' ? `PostgreSQL at ${state.location}` : state.location} answers`, details };
      const meanwhile =
        state.policy === 'open'
          ? 'failed logins are counted on this instance only until it answers (failure.policy=open)'
          : 'sign-in is refused until it answers (failure.policy=closed)';
      return { status: state.policy === 'open' ? 'warn' : 'critical', message: `the farm store is down (${state.reason}); ${meanwhile}`, details };
    },
  };
}
