import type { Clock } from '../clock.js';

export type HealthStatus = 'ok' | 'warn' | 'critical';

/** Facts a check reports besides its message, for scripts (e.g. the key ids an instance has loaded). */
export type HealthDetails = Readonly<Record<string, string | number | boolean | null | readonly string[]>>;

export interface HealthCheck {
  readonly name: string;
  readonly title: string;
  /**
   * True for what this instance needs to serve logins (keys, repository): `GET /system/health/ready`
   * answers from these alone, so a third party that is down takes no instance out of a load balancer.
   */
  readonly readiness?: boolean;
  run(): Promise<{ status: HealthStatus; message: string; details?: HealthDetails }>;
}

export interface HealthResult {
  readonly name: string;
  readonly title: string;
  readonly readiness: boolean;
  readonly status: HealthStatus;
  readonly message: string;
  readonly details?: HealthDetails;
  readonly checkedAt: string;
  readonly durationMs: number;
}

export interface HealthSummary {
  readonly status: HealthStatus;
  readonly checks: readonly HealthResult[];
}

export interface HealthRegistry {
  register(check: HealthCheck): void;
  unregister(name: string): void;
  /**
   * Records what a request just met (e.g. the repository refused it) as the check's result now:
   * critical until a run of the check that starts after this passes. A run already under way
   * when it is reported cannot undo it.
   */
  fail(name: string, message: string): void;
  /**
   * A request met something the check should look at (e.g. the repository refused it): runs the
   * check now, once however many requests report it meanwhile. Unlike `fail`, only the check's own
   * probe decides: a busy repository (conflicts, a pool wait) answers the probe and stays ready.
   */
  suspect(name: string): void;
  /** Resolves when the runs `suspect` started have ended. */
  settled(): Promise<void>;
  /** Runs one check (or all) now and keeps the results. */
  run(name?: string): Promise<HealthSummary>;
  /** The latest results, without running anything: what requests read. `readiness` keeps the readiness checks only. */
  summary(filter?: { readonly readiness?: boolean }): HealthSummary;
  /** Runs every check now and then every `intervalMs` in the background. */
  start(intervalMs: number): void;
  stop(): void;
}

const SEVERITY: Record<HealthStatus, number> = { ok: 0, warn: 1, critical: 2 };
const CHECK_TIMEOUT_MS = 15_000;

export function worstOf(statuses: readonly HealthStatus[]): HealthStatus {
  return statuses.reduce<HealthStatus>((worst, status) => (SEVERITY[status] > SEVERITY[worst] ? status : worst), 'ok');
}

export function createHealthRegistry(deps: { clock: Clock }): HealthRegistry {
  const { clock } = deps;
  const checks = new Map<string, HealthCheck>();
  const results = new Map<string, HealthResult>();
  let timer: NodeJS.Timeout | undefined;
  // Runs are numbered as they start; a failure reported after a run began outranks what it finds.
  let runs = 0;
  const failedAfterRun = new Map<string, number>();
  const suspected = new Map<string, Promise<void>>();

  async function runOne(check: HealthCheck): Promise<void> {
    const run = ++runs;
    const started = clock.now();
    let outcome: { status: HealthStatus; message: string; details?: HealthDetails };
    try {
      outcome = await Promise.race([
        check.run(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS).unref(),
        ),
      ]);
    } catch (error) {
      outcome = { status: 'critical', message: `the check failed: ${(error as Error).message}` };
    }
    if (!checks.has(check.name)) return; // unregistered while running
    if ((failedAfterRun.get(check.name) ?? 0) >= run) return;
    results.set(check.name, {
      name: check.name,
      title: check.title,
      readiness: check.readiness === true,
      ...outcome,
      checkedAt: new Date(clock.now()).toISOString(),
      durationMs: clock.now() - started,
    });
  }

  const registry: HealthRegistry = {
    register(check) {
      checks.set(check.name, check);
      if (timer) void runOne(check);
    },
    unregister(name) {
      checks.delete(name);
      results.delete(name);
      failedAfterRun.delete(name);
    },
    fail(name, message) {
      const check = checks.get(name);
      if (!check) return;
      failedAfterRun.set(name, runs);
      results.set(name, {
        name,
        title: check.title,
        readiness: check.readiness === true,
        status: 'critical',
        message,
        checkedAt: new Date(clock.now()).toISOString(),
        durationMs: 0,
      });
    },
    suspect(name) {
      const check = checks.get(name);
      if (!check || suspected.has(name)) return;
      const work = runOne(check).finally(() => suspected.delete(name));
      suspected.set(name, work);
    },
    async settled() {
      await Promise.all([...suspected.values()]);
    },
    async run(name) {
      const selected = name === undefined ? [...checks.values()] : [checks.get(name)].filter((c) => c !== undefined);
      await Promise.all(selected.map(runOne));
      return registry.summary();
    },
    summary(filter = {}) {
      const selected = [...checks.values()].filter((check) => !filter.readiness || check.readiness === true);
      const list = selected.map(
        ({ name, title, readiness }) =>
          results.get(name) ?? {
            name,
            title,
            readiness: readiness === true,
            status: 'warn' as const,
            message: 'not checked yet',
            checkedAt: '',
            durationMs: 0,
          },
      );
      return { status: worstOf(list.map((result) => result.status)), checks: list };
    },
    start(intervalMs) {
      registry.stop();
      void registry.run();
      timer = setInterval(() => void registry.run(), intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  return registry;
}
