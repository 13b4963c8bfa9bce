import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { AccountLockEvent, AuthMetrics, LoginOutcome, TokenKind, TokenOutcome } from '../auth/index.js';
import { revealSecret, type ConfigAdmin } from '../config/index.js';
import type { CryptoSupport } from '../crypto/index.js';
import { CapsuleError } from '../errors.js';
import type { HealthRegistry, HealthStatus } from '../health/index.js';
import type { SessionEndReason, SessionMetrics } from '../sessions/index.js';
import { ADMINISTRATORS } from '../users/index.js';
import { createLatencyHistogram } from './latency-histogram.js';
import { METRICS_PID } from './metrics-config.js';

export const METRICS_PATH = '/system/metrics';

const LOGIN_OUTCOMES: readonly LoginOutcome[] = ['success', 'failure', 'throttled', 'locked', 'unavailable'];
const ACCOUNT_LOCK_EVENTS: readonly AccountLockEvent[] = ['temporary', 'permanent', 'unlock'];
const TOKEN_KINDS: readonly TokenKind[] = ['stateful', 'encapsulated'];
const TOKEN_OUTCOMES: readonly TokenOutcome[] = ['valid', 'refused', 'error'];
const STATUS_VALUE: Record<HealthStatus, number> = { ok: 0, warn: 1, critical: 2 };

export interface Metrics {
  readonly registry: Registry;
  /** What the token handler bumps: every series exists from the start, each call one increment. */
  readonly auth: AuthMetrics;
  /** Sessions ended, by reason (the session registry bumps it). */
  readonly sessions: SessionMetrics;
  /** Times every request (by route pattern, method and status class) once the app uses it. */
  instrument(app: FastifyInstance): void;
}

/**
 * The instance's Prometheus metrics. Nothing on the token path builds a label: a verification
 * adds 1 to a number picked by two property reads, and the counter reads it at scrape time.
 */
/** What the metrics read of replication agents (the replication service's status fits). */
export type ReplicationQueues = () => Promise<ReadonlyArray<{ readonly name: string; readonly queued: number; readonly lagSeconds: number }>>;

/** Live sessions on the session store; counted at most once a minute (on the repository it reads every session). */
export type LiveSessions = () => Promise<number>;
const LIVE_SESSIONS_MAX_AGE_MS = 60_000;

export function createMetrics(deps: { health: HealthRegistry; replication: ReplicationQueues; liveSessions?: LiveSessions }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'capsule_' });

  // The token path only adds 1 to a plain number (a few nanoseconds; a prom-client child's inc()
  // costs about 200 ns here); the counters read those numbers when scraped.
  const loginCounts = Object.fromEntries(LOGIN_OUTCOMES.map((outcome) => [outcome, 0])) as Record<LoginOutcome, number>;
  const verificationCounts = Object.fromEntries(
    TOKEN_KINDS.map((kind) => [kind, Object.fromEntries(TOKEN_OUTCOMES.map((outcome) => [outcome, 0]))]),
  ) as Record<TokenKind, Record<TokenOutcome, number>>;

  new Counter({
    name: 'capsule_logins_total',
    help: 'Password logins by outcome.',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const outcome of LOGIN_OUTCOMES) this.labels(outcome).inc(loginCounts[outcome]);
    },
  });
  const accountLockCounts = Object.fromEntries(ACCOUNT_LOCK_EVENTS.map((event) => [event, 0])) as Record<AccountLockEvent, number>;
  new Counter({
    name: 'capsule_account_locks_total',
    help: 'Accounts locked (temporary, permanent) after failed logins, and unlocked, as seen by this instance.',
    labelNames: ['event'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const event of ACCOUNT_LOCK_EVENTS) this.labels(event).inc(accountLockCounts[event]);
    },
  });
  new Counter({
    name: 'capsule_token_verifications_total',
    help: 'Login token verifications by token kind and outcome (valid, refused, error: the token could not be checked).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const kind of TOKEN_KINDS) for (const outcome of TOKEN_OUTCOMES) this.labels(kind, outcome).inc(verificationCounts[kind][outcome]);
    },
  });

  const latency = createLatencyHistogram(registry, {
    name: 'capsule_http_request_duration_seconds',
    help: 'Time to answer a request, by method, route pattern and status class.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });

  new Gauge({
    name: 'capsule_health_check_status',
    help: 'The latest result of each health check: 0 ok, 1 warn, 2 critical.',
    labelNames: ['check', 'readiness'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const check of deps.health.summary().checks) this.labels(check.name, String(check.readiness)).set(STATUS_VALUE[check.status]);
    },
  });

  const { replication } = deps;
  // One read of the agents' state per scrape, shared by both gauges.
  let pending: Promise<Awaited<ReturnType<ReplicationQueues>>> | null = null;
  const agents = () => (pending ??= replication().finally(() => setImmediate(() => (pending = null))));
  new Gauge({
    name: 'capsule_replication_queue_depth',
    help: 'Changes waiting in the outbox of each replication agent (not yet delivered to its publish).',
    labelNames: ['agent'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const agent of await agents()) this.labels(agent.name).set(agent.queued);
    },
  });
  new Gauge({
    name: 'capsule_replication_lag_seconds',
    help: 'How long the oldest undelivered change of each replication agent has waited (0 when none waits).',
    labelNames: ['agent'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const agent of await agents()) this.labels(agent.name).set(agent.lagSeconds);
    },
  });

  const sessionEnds = new Map<SessionEndReason, number>();
  new Counter({
    name: 'capsule_sessions_ended_total',
    help: 'Sessions ended through this instance, by reason (revoked, limit, logged-out, password-changed, user-disabled, user-deleted).',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, count] of sessionEnds) this.labels(reason).inc(count);
    },
  });
  const { liveSessions } = deps;
  if (liveSessions) {
    let counted: { value: number; atMs: number } | null = null;
    new Gauge({
      name: 'capsule_sessions_active',
      help: 'Live sessions (not ended, unexpired) on the session store: the farm\'s with a farm store, else this instance\'s. Counted at most once a minute.',
      registers: [registry],
      async collect() {
        if (counted === null || Date.now() - counted.atMs >= LIVE_SESSIONS_MAX_AGE_MS) {
          // A store that does not answer leaves the last count (the health check says it is away).
          const value = await liveSessions().catch(() => counted?.value ?? 0);
          counted = { value, atMs: Date.now() };
        }
        this.set(counted.value);
      },
    });
  }

  return {
    registry,
    sessions: {
      sessionsEnded: (reason, count) => {
        sessionEnds.set(reason, (sessionEnds.get(reason) ?? 0) + count);
      },
    },
    auth: {
      login: (outcome) => {
        loginCounts[outcome]++;
      },
      accountLock: (event) => {
        accountLockCounts[event]++;
      },
      tokenVerified: (kind, outcome) => {
        verificationCounts[kind][outcome]++;
      },
    },
    instrument(app) {
      // Callback style, not async: every request runs this, and an async hook costs a promise.
      app.addHook('onResponse', (request, reply, done) => {
        // The route pattern, never the URL: one series per route, whatever paths clients send.
        const route = request.routeOptions.url ?? 'unmatched';
        latency.observe(request.method, route, `${Math.floor(reply.statusCode / 100)}xx`, reply.elapsedTime / 1000);
        done();
      });
    },
  };
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** The bearer token of a request, if it sent one. */
function bearerOf(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer ([^\s]+)$/i.exec(header) : null;
  return match?.[1] ?? null;
}

export interface MetricsRouteDeps {
  readonly metrics: Metrics;
  /** Where the scrape token is configured (and the key it is encrypted with). */
  readonly services: { readonly config: ConfigAdmin; readonly crypto: CryptoSupport };
}

/**
 * `GET /system/metrics` (Prometheus text format) for administrators, or for a scraper that sends
 * the configured token as `Authorization: Bearer TOKEN`. The comparison is of SHA-256 digests in
 * constant time, so neither the token's content nor its length leaks through timing.
 */
export function metricsRoutes(app: FastifyInstance, deps: MetricsRouteDeps): void {
  /** Why the scrape token was last unusable, as logged: a scraper every 15 s must not fill the log with it. */
  let unusableLogged: string | null = null;

  function scrapeTokenMatches(request: FastifyRequest): boolean {
    const sent = bearerOf(request);
    const stored = deps.services.config.current(METRICS_PID)['scrape.token'];
    if (sent === null || typeof stored !== 'string' || stored === '') return false;
    let expected: string;
    try {
      expected = revealSecret(stored, deps.services.crypto, { what: `${METRICS_PID}: scrape.token`, reenter: `capsule config set ${METRICS_PID} scrape.token=…` });
    } catch (error) {
      // A token that cannot be had (a reference not set in this server's environment, a key that
      // changed) lets no scraper in: said in the log for the operator, not to the requester.
      // Logged once per reason, again only after the token was usable or the reason changed.
      const reason = error instanceof Error ? error.message : String(error);
      if (reason !== unusableLogged) request.log.warn({ err: error }, 'the metrics scrape token is not usable; only administrators may read metrics');
      unusableLogged = reason;
      return false;
    }
    unusableLogged = null;
    return timingSafeEqual(digest(sent), digest(expected));
  }

  app.get(METRICS_PATH, async (request, reply) => {
    const admin = request.session?.groups.includes(ADMINISTRATORS) === true;
    if (!admin && !scrapeTokenMatches(request)) {
      if (!request.session && bearerOf(request) === null) throw new CapsuleError('UNAUTHENTICATED', 'log in as an administrator, or send the scrape token (capsule.metrics scrape.token) as Authorization: Bearer TOKEN');
      throw new CapsuleError('FORBIDDEN', 'metrics are for administrators and for the configured scrape token');
    }
    const text = await deps.metrics.registry.metrics();
    return reply.header('cache-control', 'no-store').type(deps.metrics.registry.contentType).send(text);
  });
}
