import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStatefulTokenStore, createTokenHandler } from '../src/auth/index.js';
import { openServices, silentLogger } from '../src/instance/index.js';
import { createArgon2Hasher } from '../src/users/index.js';
import { startPostgres, type PostgresCluster } from '../test/helpers/postgres-cluster.js';
import { interleaved, login, MEMBERS_PAGE, PUBLIC_PAGE, run, seedContent, startCapsule, stopChild, type HttpRun } from './http.js';
import { measureAsync } from './measure.js';
import { systemClock } from '../src/clock.js';
import { memorySessionRegistry } from '../test/helpers/memory-session-registry.js';

// The author-cluster rows: stateful tokens on a PostgreSQL repository (a throwaway local
// cluster on loopback, fsync off), and how many statements each check costs the database.

const STATEFUL_TOKENS = 20_000;

export interface PostgresResults {
  readonly tokens: number;
  readonly verificationRate: number;
  /** Database statements per stateful verification (pg_stat_statements). */
  readonly statementsPerVerification: number;
  readonly http: HttpRun[];
  /** Database statements per stateful HTTP request, background work included. */
  readonly statementsPerRequest: number;
  /** The same, statement by statement. */
  readonly perRequest: ReadonlyArray<{ readonly query: string; readonly perRequest: number }>;
}

/** Statements run in `database` since the last reset, by pg_stat_statements (exact, no reporting delay). */
async function statements(cluster: PostgresCluster, database: string): Promise<Map<string, number>> {
  const rows = await cluster.sql<{ query: string; calls: string }>(
    'postgres',
    `SELECT s.query, s.calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1`,
    [database],
  );
  return new Map(rows.map((row) => [row.query.replace(/\s+/g, ' ').slice(0, 90), Number(row.calls)]));
}

async function resetStatements(cluster: PostgresCluster): Promise<void> {
  await cluster.sql('postgres', 'SELECT pg_stat_statements_reset()');
}

function total(counts: Map<string, number>): number {
  return [...counts.values()].reduce((sum, calls) => sum + calls, 0);
}

export async function benchmarkPostgres(log: (line: string) => void, durationSeconds = 4, connections = 32, rounds = 3): Promise<PostgresResults> {
  const cluster = await startPostgres({ settings: ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track_utility=on'] });
  await cluster.sql('postgres', 'CREATE EXTENSION pg_stat_statements');
  const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-pg-'));
  try {
    const url = await cluster.createDatabase('bench_verification');
    const services = await openServices({
      home: join(dir, 'verification'),
      create: true,
      keys: 'prepare',
      repositoryUrl: url,
      hasher: createArgon2Hasher({ memoryCost: 1024, timeCost: 1 }),
      clock: systemClock,
    });
    let verificationRate = 0;
    let statementsPerVerification = 0;
    try {
      log(`storing ${STATEFUL_TOKENS} stateful tokens in PostgreSQL`);
      const store = createStatefulTokenStore({ repo: services.repo, maxPerUser: () => 50 });
      const tokens: string[] = [];
      for (let u = 0; u < STATEFUL_TOKENS / 50; u++) {
        const user = await services.users.createUser(`user${u}`, { password: 'bench-password' });
        for (let t = 0; t < 50; t++) tokens.push((await store.create(user, Date.now(), 43_200_000)).token);
      }
      // Without the cache of validated tokens: this is the round trip a token not in the cache costs.
      const handler = createTokenHandler({ sessions: memorySessionRegistry(), ...services, logger: silentLogger(), audit: silentLogger(), userCacheTtlMs: 3_600_000, validatedTokenCache: false });
      const order = tokens.map((_, i) => (i * 7919) % tokens.length);
      const check = async (i: number) => {
        if (!(await handler.authenticateToken(tokens[order[i % order.length]!]!))) throw new Error('authentication failed');
      };
      for (let i = 0; i < tokens.length; i++) await check(i); // every user cached, as on a busy server
      await resetStatements(cluster);
      const counted = 5000;
      for (let i = 0; i < counted; i++) await check(i);
      statementsPerVerification = total(await statements(cluster, 'bench_verification')) / counted;
      for (let round = 0; round < 5; round++) verificationRate = Math.max(verificationRate, await measureAsync(check, 1000, 64));
    } finally {
      await services.close();
    }

    await cluster.createDatabase('bench_http');
    const home = join(dir, 'http');
    const env = { ...process.env, ...cluster.env };
    const { url: base, child: server } = await startCapsule(home, env, ['--repository', cluster.url('bench_http')]);
    try {
      seedContent(home, env);
      const stateful = await login(base);
      log(`server on ${base} with its repository on PostgreSQL; ${connections} connections, ${rounds} interleaved rounds of ${durationSeconds} s`);
      await run('warm-up', `${base}${MEMBERS_PAGE}.json`, 2, connections, stateful);
      await run('warm-up', `${base}${PUBLIC_PAGE}.json`, 1, connections);
      const http = await interleaved(
        [
          { name: `anonymous GET ${PUBLIC_PAGE}.json (PostgreSQL home)`, url: `${base}${PUBLIC_PAGE}.json`, pid: server.pid! },
          { name: `stateful token GET ${MEMBERS_PAGE}.json (PostgreSQL)`, url: `${base}${MEMBERS_PAGE}.json`, cookie: stateful, pid: server.pid! },
        ],
        rounds,
        durationSeconds,
        connections,
      );
      // Statements per stateful request, and which: a counted burst. Change polling runs beside
      // it (a few counter reads a second), so it is counted and shown apart.
      await resetStatements(cluster);
      const requests = 3000;
      for (let i = 0; i < requests; i++) {
        const response = await fetch(`${base}${MEMBERS_PAGE}.json`, { headers: { cookie: `login-token=${stateful}` } });
        if (response.status !== 200) throw new Error(`stateful request answered ${response.status}`);
        await response.arrayBuffer();
      }
      const counts = await statements(cluster, 'bench_http');
      const perRequest = [...counts.entries()]
        .map(([query, calls]) => ({ query, perRequest: calls / requests }))
        .sort((a, b) => b.perRequest - a.perRequest);
      const statementsPerRequest = total(counts) / requests;
      return {
        tokens: STATEFUL_TOKENS,
        verificationRate,
        statementsPerVerification,
        http,
        statementsPerRequest,
        perRequest,
      };
    } finally {
      await stopChild(server);
    }
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
