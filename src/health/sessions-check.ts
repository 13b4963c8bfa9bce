import type { Clock } from '../clock.js';
import type { SessionRegistry } from '../sessions/index.js';
import type { HealthCheck } from './registry.js';

export const SESSIONS_CHECK = 'sessions';

/**
 * Whether this member hears of sessions revoked on other members. A member that lost the feed still
 * refuses every revoked session it knew, so it stays in the load balancer (not a readiness check):
 * WARN while it hears nothing, CRITICAL once the lost revocations may matter, after `criticalAfterMs`
 * (default 5 minutes: a revocation made elsewhere meanwhile is not refused here).
 */
export function sessionsCheck(registry: Pick<SessionRegistry, 'feedState'>, options: { readonly clock: Clock; readonly criticalAfterMs?: number }): HealthCheck {
  const criticalAfterMs = options.criticalAfterMs ?? 5 * 60_000;
  const { clock } = options;
  return {
    name: SESSIONS_CHECK,
    title: 'Session revocations',
    readiness: false,
    async run() {
      const state = registry.feedState();
      const where = state.backend === 'postgres' ? `PostgreSQL at ${state.location}` : state.location;
      const details = { backend: state.backend, location: state.location, connected: state.connected, held: state.held, lostSince: state.lostSinceMs === null ? null : new Date(state.lostSinceMs).toISOString() };
      if (state.refusingAll === true) {
        return { status: 'critical', message: `the ended sessions were never read from ${where} since this start (${state.reason ?? 'connecting'}): every token naming a session is refused (failure.policy=closed)`, details };
      }
      if (state.connected) return { status: 'ok', message: `revocations are heard from ${where}; ${state.held} revoked sessions refused`, details };
      if (state.lostSinceMs === null) return { status: 'warn', message: `the revocation feed from ${where} is not up yet (${state.reason ?? 'connecting'}); ${state.held} revoked sessions refused`, details };
      const since = new Date(state.lostSinceMs).toISOString();
      return {
        status: clock.now() - state.lostSinceMs >= criticalAfterMs ? 'critical' : 'warn',
        message: `revocations made elsewhere since ${since} are not heard (${state.reason ?? 'the feed is lost'}); ${state.held} revoked sessions still refused`,
        details,
      };
    },
  };
}
