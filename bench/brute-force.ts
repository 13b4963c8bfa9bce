// Issue 26's figures. (a) Password logins per second on one core with the account's failures on
// the PostgreSQL farm store, on the instance's repository (SQLite), and with brute-force
// detection off (`enabled=false`: no store is read or written; the per-address throttle in
// memory still runs, as it does in all three): the store's round trip beside argon2id.
// (b) A guessing run through HAProxy against three publishes: guesses checked against the
// password per account in an hour, before (each publish counts in its own repository) and after
// (one PostgreSQL farm store).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterFailure, bruteForceSettings, BRUTE_FORCE_PID, createBruteForceProtector, createTokenHandler, isLocked, type BruteForceSettings } from '../src/auth/index.js';
import { fixedClock, systemClock } from '../src/clock.js';
import { createPostgresFarmStore, createRepositoryFarmStore, type FarmStore } from '../src/farm-store/index.js';
import { openServices, silentLogger, startInstance, type RunningInstance } from '../src/instance/index.js';
import { createArgon2Hasher } from '../src/users/index.js';
import { startHaproxy, type Haproxy } from '../test/helpers/haproxy.js';
import { startPostgres, POSTGRES_PASSWORD, type PostgresCluster } from '../test/helpers/postgres-cluster.js';
import { median } from './measure.js';
import { pin, SERVER_CPU } from './pinning.js';
import { memorySessionRegistry } from '../test/helpers/memory-session-registry.js';

export interface Rate {
  /** Per second, the best of the interleaved rounds (wall time: swings with the host's other load). */
  readonly perSecond: number;
  /** This process's CPU time (all its threads, argon2id's included) per operation, in µs; the median of the rounds. */
  readonly cpuUs: number;
}

export interface LoginRates {
  /** Successful form logins, 4 in flight, on this process's one core. */
  readonly success: Readonly<Record<StoreName, Rate>>;
  /** Wrong passwords (counted; maxFailures set out of reach, so none is refused as locked). */
  readonly failure: Readonly<Record<StoreName, Rate>>;
  /** The store's own part of a login, alone, 4 in flight: a read (a right password), a counted failure (a wrong one). */
  readonly read: Readonly<Record<Exclude<StoreName, 'off'>, Rate>>;
  readonly counted: Readonly<Record<Exclude<StoreName, 'off'>, Rate>>;
}

export type StoreName = 'postgres' | 'repository' | 'off';

export interface GuessingRun {
  readonly name: string;
  /** Guesses checked against the password in the first stretch, before every publish refused. */
  readonly beforeFirstLockout: number;
  /** How many of those each publish checked. */
  readonly byPublish: Readonly<Record<string, number>>;
  /** Guesses checked in one hour of the attacker's time (the clock moved by the run). */
  readonly perHour: number;
  /** Requests sent in all (checked and refused). */
  readonly sent: number;
  /** The same hour by arithmetic alone, from Keycloak's rule: per store × independent stores. */
  readonly computedPerHour: number;
}

export interface BruteForceResults {
  readonly logins: LoginRates;
  readonly guessing: readonly GuessingRun[];
  readonly settings: BruteForceSettings;
  readonly wallSeconds: number;
}

const HOUR_MS = 3_600_000;
/** The attacker's pace: one guess a second, the fastest the quick-login check lets through on one store. */
const GUESS_EVERY_MS = 1000;

/**
 * Guesses the rule lets one store check in `windowMs` when each guess comes as soon as the
 * account is free again (and at most one per `paceMs`): the arithmetic beside the measured run.
 */
export function guessesPerWindow(settings: BruteForceSettings, windowMs: number, paceMs: number): number {
  let now = 0;
  let record = null as ReturnType<typeof afterFailure>['record'] | null;
  let checked = 0;
  while (now < windowMs) {
    if (isLocked(record, now)) {
      if (record!.permanent) break;
      now = Math.ceil(record!.lockedUntilMs / paceMs) * paceMs;
      continue;
    }
    record = afterFailure(record, now, 'attacker', settings).record;
    checked++;
    now += paceMs;
  }
  return checked;
}

/**
 * Operations per second with `inFlight` always running (each one starts the next as it ends), as
 * requests reach a server: unlike batches that wait for their slowest, a store's round trip of one
 * login overlaps the others' hashing.
 */
async function measureInFlight(op: (i: number) => Promise<unknown>, ms: number, inFlight: number): Promise<{ perSecond: number; cpuUs: number }> {
  let count = 0;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  const worker = async () => {
    while (process.hrtime.bigint() < deadline) await op(count++);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const used = process.cpuUsage(cpu);
  return { perSecond: count / (Number(process.hrtime.bigint() - start) / 1e9), cpuUs: (used.user + used.system) / count };
}

/** Interleaved rounds (the first warms up), so a burst of the host's load hurts every candidate alike. */
async function interleavedRounds<N extends string>(candidates: Readonly<Record<N, () => Promise<{ perSecond: number; cpuUs: number }>>>, rounds: number): Promise<Record<N, Rate>> {
  const seen = new Map<N, Array<{ perSecond: number; cpuUs: number }>>();
  for (let round = 0; round < rounds; round++) {
    for (const name of Object.keys(candidates) as N[]) {
      const result = await candidates[name]();
      if (round > 0) seen.set(name, [...(seen.get(name) ?? []), result]);
    }
  }
  return Object.fromEntries(
    [...seen].map(([name, results]) => [name, { perSecond: Math.max(...results.map((result) => result.perSecond)), cpuUs: median(results.map((result) => result.cpuUs)) }]),
  ) as Record<N, Rate>;
}

async function benchmarkLoginRates(log: (line: string) => void, cluster: PostgresCluster, dir: string): Promise<LoginRates> {
  const hasher = createArgon2Hasher(); // the defaults: m = 19,456 KiB, t = 2, p = 1
  const services = await openServices({ home: join(dir, 'logins'), create: true, keys: 'prepare', hasher, clock: systemClock });
  const postgres = createPostgresFarmStore({ url: await cluster.createDatabase('bench_logins'), clock: systemClock });
  const stores: Record<Exclude<StoreName, 'off'>, FarmStore> = { postgres, repository: createRepositoryFarmStore({ repo: services.repo, clock: systemClock }) };
  try {
    const users = 16;
    for (let u = 0; u < users; u++) await services.users.createUser(`user${u}`, { password: `bench-password-${u}-of-sixteen` });
    await postgres.ping();
    const defaults = bruteForceSettings(services.config.current(BRUTE_FORCE_PID));
    // Out of reach, and no quick-login lock (failures of one account come milliseconds apart here): every failure is checked and counted.
    const counting: BruteForceSettings = { ...defaults, maxFailures: 1_000_000, quickLoginCheckMilliSeconds: 0 };
    const handler = (store: FarmStore, settings: BruteForceSettings) =>
      createTokenHandler({ sessions: memorySessionRegistry(),
        ...services,
        logger: silentLogger(),
        audit: silentLogger(),
        bruteForce: createBruteForceProtector({ store, clock: systemClock, settings: () => settings, audit: silentLogger(), member: () => 'bench' }),
      });
    const handlers = {
      off: handler(stores.repository, { ...defaults, enabled: false }),
      repository: handler(stores.repository, defaults),
      postgres: handler(stores.postgres, defaults),
    };
    const failing = { off: handlers.off, repository: handler(stores.repository, counting), postgres: handler(stores.postgres, counting) };
    // Every login and every failure from its own address: the per-address throttle (30 a minute) never refuses one.
    let address = 0;
    const nextAddress = () => {
      address++;
      return `10.${(address >> 16) & 255}.${(address >> 8) & 255}.${address & 255}`;
    };
    const logins = (name: StoreName) => () =>
      measureInFlight(async (i) => {
        const u = i % users;
        if (!(await handlers[name].login(`user${u}`, `bench-password-${u}-of-sixteen`, nextAddress())).ok) throw new Error('login failed');
      }, 1500, 4);
    const failures = (name: StoreName) => () =>
      measureInFlight(async (i) => {
        if ((await failing[name].login(`user${i % users}`, 'wrong-password', nextAddress())).ok) throw new Error('a wrong password let in');
      }, 1500, 4);
    log('argon2id m=19456 KiB t=2 p=1; 4 logins in flight; brute force off / on the repository (SQLite) / on PostgreSQL, interleaved rounds');
    const success = await interleavedRounds({ off: logins('off'), repository: logins('repository'), postgres: logins('postgres') }, 5);
    const failure = await interleavedRounds({ off: failures('off'), repository: failures('repository'), postgres: failures('postgres') }, 4);
    log('the store alone: a read of an account (what a right password costs), a counted failure (a wrong one)');
    const read = (name: Exclude<StoreName, 'off'>) => () => measureInFlight((i) => stores[name].get('login-failures', `user${i % users}`), 300, 4);
    const counted = (name: Exclude<StoreName, 'off'>) => () =>
      measureInFlight((i) => stores[name].update('login-failures', `bench-failure-${i % users}`, (current, now) => ({ value: { failures: ((current?.value.failures as number) ?? 0) + 1 }, expiresAtMs: now + 60_000 })), 300, 4);
    return {
      success,
      failure,
      read: await interleavedRounds({ postgres: read('postgres'), repository: read('repository') }, 4),
      counted: await interleavedRounds({ postgres: counted('postgres'), repository: counted('repository') }, 4),
    };
  } finally {
    await postgres.close();
    await services.close();
  }
}

/**
 * Three publishes in this process (their own homes and SQLite repositories, one clock the run
 * moves) behind Debian's HAProxy, round robin. The attacker sends one wrong guess a second
 * through HAProxy for an hour of the clock's time; whenever every publish has the account
 * locked, the clock jumps to the end of the first lockout (the guesses it would send meanwhile
 * are all refused and count nothing). A guess is "checked" when a publish's count went up.
 */
async function guessingRun(name: string, publishes: readonly RunningInstance[], haproxy: Haproxy, clock: ReturnType<typeof fixedClock>, user: string, settings: BruteForceSettings, stores: number): Promise<GuessingRun> {
  const start = clock.now();
  const failures = async () => Promise.all(publishes.map(async (publish) => (await publish.bruteForce.status(user))?.failures ?? 0));
  const records = async () => Promise.all(publishes.map((publish) => publish.bruteForce.status(user)));
  // A shared store: one count read by all; per publish: the sum of their own.
  const checkedSoFar = async () => {
    const counts = await failures();
    return stores === 1 ? Math.max(...counts) : counts.reduce((sum, count) => sum + count, 0);
  };
  let sent = 0;
  let beforeFirstLockout = 0;
  const byPublish: Record<string, number> = {};
  while (clock.now() - start < HOUR_MS) {
    const all = await records();
    if (all.every((record) => isLocked(record, clock.now()))) {
      if (beforeFirstLockout === 0) beforeFirstLockout = await checkedSoFar();
      if (all.some((record) => record!.permanent)) break;
      clock.set(Math.min(...all.map((record) => record!.lockedUntilMs)));
      continue;
    }
    const before = await failures();
    const response = await fetch(`${haproxy.url}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ j_username: user, j_password: `guess-${sent}` }),
    });
    await response.arrayBuffer();
    if (response.status !== 401) throw new Error(`guess ${sent} answered ${response.status}`);
    sent++;
    if (beforeFirstLockout === 0) {
      const after = await failures();
      const instance = response.headers.get('x-capsule-instance') ?? '?';
      if (after.some((count, i) => count > before[i]!)) byPublish[instance] = (byPublish[instance] ?? 0) + 1;
    }
    clock.advance(GUESS_EVERY_MS);
  }
  return { name, beforeFirstLockout, byPublish, perHour: await checkedSoFar(), sent, computedPerHour: stores * guessesPerWindow(settings, HOUR_MS, GUESS_EVERY_MS * (stores === 1 ? 1 : stores)) };
}

async function benchmarkGuessing(log: (line: string) => void, cluster: PostgresCluster, dir: string): Promise<{ runs: GuessingRun[]; settings: BruteForceSettings }> {
  const clock = fixedClock(Date.parse('2026-12-07T10:00:00Z'));
  const publishes: RunningInstance[] = [];
  let haproxy: Haproxy | undefined;
  try {
    await cluster.createDatabase('bench_farm');
    for (const name of ['publish-1', 'publish-2', 'publish-3']) {
      const instance = await startInstance({
        home: join(dir, name),
        port: 0,
        name,
        // How many guesses get checked does not depend on the hash's cost: a cheap one keeps the run short.
        hasher: createArgon2Hasher({ memoryCost: 1024, timeCost: 1 }),
        clock,
        env: { CAPSULE_ADMIN_PASSWORD: 'bench-admin-password', SECRET_FARM_STORE: POSTGRES_PASSWORD },
      });
      publishes.push(instance);
      for (const user of ['before', 'after']) await instance.services.users.createUser(user, { password: `${user}-right-password-12` });
    }
    haproxy = await startHaproxy(dir, publishes.map((publish) => publish.port));
    const settings = bruteForceSettings(publishes[0]!.services.config.current(BRUTE_FORCE_PID));
    log(`3 publishes in this process behind HAProxy (round robin); one guess a second, an hour of clock time each; Keycloak's defaults (maxFailures ${settings.maxFailures}, wait +${settings.waitIncrementSeconds} s every ${settings.maxFailures} failures up to ${settings.maxWaitSeconds} s)`);
    const before = await guessingRun('before: each publish counts in its own repository', publishes, haproxy, clock, 'before', settings, 3);
    for (const publish of publishes) await publish.services.config.update('capsule.farm.store', { url: cluster.url('bench_farm'), password: '$[env:SECRET_FARM_STORE]' });
    const after = await guessingRun('after: one PostgreSQL farm store', publishes, haproxy, clock, 'after', settings, 1);
    return { runs: [before, after], settings };
  } finally {
    await haproxy?.stop();
    for (const publish of publishes) await publish.stop();
  }
}

export async function benchmarkBruteForce(log: (line: string) => void): Promise<BruteForceResults> {
  const started = Date.now();
  // A farm store waits for its commits (the throwaway cluster's default does not); on the other core, as a database server apart.
  const cluster = await startPostgres({ settings: ['fsync=on', 'synchronous_commit=on'] });
  const postmaster = cluster.pid();
  if (postmaster !== null) pin(postmaster, SERVER_CPU);
  const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-bruteforce-'));
  try {
    const logins = await benchmarkLoginRates(log, cluster, dir);
    const { runs, settings } = await benchmarkGuessing(log, cluster, dir);
    return { logins, guessing: runs, settings, wallSeconds: (Date.now() - started) / 1000 };
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Keycloak's published sizing figure: "For each 15 password-based user logins per second, allocate 1 vCPU to the cluster". */
export const KEYCLOAK_SIZING_URL = 'https://www.keycloak.org/high-availability/single-cluster/concepts-memory-and-cpu-sizing';
