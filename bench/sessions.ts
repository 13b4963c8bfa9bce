// Issue 27's figures, on one throwaway PostgreSQL cluster serving as the farm store:
// (a) encapsulated requests (the revocation check on each) on an instance holding 100,000 revoked
//     session ids, against anonymous requests and against an instance holding none: `capsule
//     start` on the server core, autocannon here on the other, interleaved rounds;
// (b) revocation propagation to three publishes (`capsule start` each, same keys, one farm store):
//     from a revoke call to each publish refusing the token, over many revocations;
// (c) the PostgreSQL session store with 1,000,000 sessions against 1,000: one user's listing and
//     a sign-in's `create` with a limit, interleaved.
import { request, Agent } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startPostgres, POSTGRES_PASSWORD, type PostgresCluster } from '../test/helpers/postgres-cluster.js';
import { cli, interleavedRounds, login, MEMBERS_PAGE, PUBLIC_PAGE, run, seedContent, startCapsule, stopChild, type HttpRun } from './http.js';
import { median } from './measure.js';
import { ALL_CPUS, pin, rssOf, SERVER_CPU } from './pinning.js';
import { insertSessionRows, sessionsTableExists, SESSIONS_TABLE } from './session-rows.js';
import { openBenchSessionStore, sessionRecord } from './session-store.js';

const ADMIN_PASSWORD = 'bench-admin-password';
const SERVER_ENV = { ...process.env, PGPASSWORD: POSTGRES_PASSWORD };

export interface SessionsOptions {
  /** Fewer rounds, revocations and samples: a check that it runs, not figures to record. */
  readonly quick: boolean;
}

export interface RevokedHttpResults {
  readonly held: { revoked: number | null; none: number | null };
  readonly insertSeconds: number;
  /** Plans: anonymous (100k home), encapsulated (100k home), encapsulated (0 home), anonymous (0 home). */
  readonly best: readonly HttpRun[];
  readonly rounds: readonly HttpRun[][];
  readonly rssMiB: { revoked: number; none: number };
}

export interface PropagationResults {
  readonly revocations: number;
  readonly publishes: number;
  /** From the revoke call's start to each publish's first refusal (ms), sorted. */
  readonly fromStartMs: readonly number[];
  /** The same, for the two publishes the call was not sent to (the push's path alone), sorted. */
  readonly othersFromStartMs: readonly number[];
  /** From the revoke call's answer (negative: refused before the caller had the answer), sorted. */
  readonly fromAnswerMs: readonly number[];
  /** The revoke call itself (ms), median. */
  readonly callMs: number;
  /** A poll's round trip (ms), median: with the pause, the resolution of each figure. */
  readonly pollMs: number;
  readonly pauseMs: number;
  /** Refusals not seen within the guard. */
  readonly missed: number;
  readonly recorded: number;
  readonly signInSeconds: number;
}

export interface StoreSizeRun {
  readonly stored: number;
  readonly listMs: number;
  readonly createMs: number;
  readonly tableMiB: number;
}

export interface StoreSizeResults {
  readonly small: StoreSizeRun;
  readonly large: StoreSizeRun;
  readonly samples: number;
  readonly insertSeconds: number;
  readonly perUser: number;
  readonly limit: number;
}

export interface SessionsResults {
  readonly http: RevokedHttpResults;
  readonly propagation: PropagationResults;
  readonly size: StoreSizeResults;
  readonly wallSeconds: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, condition: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await pause(100);
  }
}

/** The health check of the revocation feed, as an administrator sees it. */
async function revocationHealth(url: string): Promise<{ name: string; status: string; message: string; details?: Record<string, unknown> } | undefined> {
  const token = await login(url, 'admin', ADMIN_PASSWORD);
  const response = await fetch(`${url}/system/health`, { headers: { 'login-token': token } });
  const summary = (await response.json()) as { checks: Array<{ name: string; status: string; message: string; details?: Record<string, unknown> }> };
  return summary.checks.find((check) => /session|revocation/i.test(check.name));
}

function heldOf(check: Awaited<ReturnType<typeof revocationHealth>>): number | null {
  const held = check?.details?.held;
  return typeof held === 'number' ? held : null;
}

/** A home on `database`'s farm store with encapsulated tokens, the content and its reader; returned stopped. */
async function prepareHome(home: string, cluster: PostgresCluster, database: string): Promise<void> {
  const { child } = await startCapsule(home, SERVER_ENV);
  try {
    seedContent(home);
    cli(home, ['config', 'set', 'capsule.farm.store', `url=${cluster.url(database)}`]);
    cli(home, ['config', 'set', 'capsule.auth.token', 'token.encapsulated=true']);
    // The health checks every second, so that the revoked ids read at start show in it soon.
    cli(home, ['config', 'set', 'capsule.health', 'interval.seconds=1']);
  } finally {
    await stopChild(child);
  }
  // Restarted on the farm store (whether or not a running member follows the URL live); a sign-in makes its table.
  const again = await startCapsule(home, SERVER_ENV);
  try {
    await login(again.url);
    await waitFor(`${SESSIONS_TABLE} in ${database}`, () => sessionsTableExists(cluster, database));
  } finally {
    await stopChild(again.child);
  }
}

const sessionIdOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sid: string }).sid;

/** An encapsulated token of the reader (the switch to encapsulated tokens is applied live). */
async function encapsulatedToken(url: string): Promise<string> {
  let token = '';
  for (let i = 0; i < 50 && !token.includes('.'); i++) {
    token = await login(url);
    if (!token.includes('.')) await pause(100);
  }
  if (!token.includes('.')) throw new Error(`${url} issues no encapsulated token`);
  return token;
}

async function benchmarkRevokedHttp(log: (line: string) => void, cluster: PostgresCluster, dir: string, options: SessionsOptions): Promise<RevokedHttpResults> {
  const revokedIds = 100_000;
  await cluster.createDatabase('bench_revoked');
  await cluster.createDatabase('bench_none');
  const homes = { revoked: join(dir, 'revoked'), none: join(dir, 'none') };
  await prepareHome(homes.revoked, cluster, 'bench_revoked');
  await prepareHome(homes.none, cluster, 'bench_none');
  log(`${revokedIds.toLocaleString('en')} revoked sessions (other users', unexpired) written into the farm store of one home; the other's has none`);
  const insertSeconds = await insertSessionRows(cluster, 'bench_revoked', { count: revokedIds, userId: "'bench-user-' || (i % 10000)", ended: true, seed: 'revoked', nowMs: Date.now() });
  const servers: ChildProcess[] = [];
  try {
    // Started after the rows were written: each member reads the revoked ids at start.
    const revoked = await startCapsule(homes.revoked, SERVER_ENV);
    servers.push(revoked.child);
    const none = await startCapsule(homes.none, SERVER_ENV);
    servers.push(none.child);
    await waitFor('the revoked ids read at start', async () => (heldOf(await revocationHealth(revoked.url)) ?? 0) >= revokedIds, 120_000);
    const held = { revoked: heldOf(await revocationHealth(revoked.url)), none: heldOf(await revocationHealth(none.url)) };
    log(`revoked ids held in memory, from the health check: ${held.revoked ?? '?'} and ${held.none ?? '?'}`);
    const [tokenRevoked, tokenNone] = [await encapsulatedToken(revoked.url), await encapsulatedToken(none.url)];
    // The check is there: a session revoked on that home is refused by it.
    const doomed = await encapsulatedToken(revoked.url);
    const sid = sessionIdOf(doomed);
    const ended = await fetch(`${revoked.url}/api/sessions/${sid}`, { method: 'DELETE', headers: { 'login-token': doomed } });
    const refused = (await fetch(`${revoked.url}${MEMBERS_PAGE}.json`, { headers: { cookie: `login-token=${doomed}` } })).status;
    if (!ended.ok || refused === 200) throw new Error(`a revoked session's token is not refused (DELETE ${ended.status}, then GET ${refused})`);
    await pause(1000); // the start-up work settles
    const rssMiB = { revoked: rssOf(revoked.child.pid!).rssMiB, none: rssOf(none.child.pid!).rssMiB };
    const [duration, rounds, connections] = options.quick ? [2, 4, 32] : [3, 8, 32];
    for (const [url, token] of [[revoked.url, tokenRevoked], [none.url, tokenNone]] as const) {
      await run('warm-up', `${url}${PUBLIC_PAGE}.json`, 1, connections);
      await run('warm-up', `${url}${MEMBERS_PAGE}.json`, 1, connections, token);
    }
    log(`${connections} connections, ${rounds} interleaved rounds of ${duration} s`);
    const measured = await interleavedRounds(
      [
        { name: 'anonymous (100,000 revoked ids held)', url: `${revoked.url}${PUBLIC_PAGE}.json`, pid: revoked.child.pid! },
        { name: 'encapsulated (100,000 revoked ids held)', url: `${revoked.url}${MEMBERS_PAGE}.json`, cookie: tokenRevoked, pid: revoked.child.pid! },
        { name: 'encapsulated (no revoked id held)', url: `${none.url}${MEMBERS_PAGE}.json`, cookie: tokenNone, pid: none.child.pid! },
        { name: 'anonymous (no revoked id held)', url: `${none.url}${PUBLIC_PAGE}.json`, pid: none.child.pid! },
      ],
      rounds,
      duration,
      connections,
    );
    return { held, insertSeconds, best: measured.best, rounds: measured.rounds, rssMiB };
  } finally {
    for (const child of servers) await stopChild(child);
  }
}

/** GET /api/session on one keep-alive connection per publish: its status and when it came (hrtime ns). */
function sessionStatus(url: string, agent: Agent, token: string): Promise<{ status: number; at: bigint; sent: bigint }> {
  const sent = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/session`, { agent, headers: { 'login-token': token } }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, at: process.hrtime.bigint(), sent }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function benchmarkPropagation(log: (line: string) => void, cluster: PostgresCluster, dir: string, options: SessionsOptions): Promise<PropagationResults> {
  const revocations = options.quick ? 100 : 1000;
  const guardMs = 20_000;
  const pauseMs = 1;
  await cluster.createDatabase('bench_farm');
  const homes = [1, 2, 3].map((n) => join(dir, `publish-${n}`));
  const keysEnv = { ...process.env, CAPSULE_KEYS_PASSPHRASE: 'bench-passphrase' };
  const bundle = join(dir, 'keys.bundle');
  const publishes: Array<{ url: string; child: ChildProcess }> = [];
  const stopAll = async () => {
    for (const publish of publishes.splice(0)) await stopChild(publish.child);
  };
  try {
    for (const [index, home] of homes.entries()) {
      if (index > 0) cli(home, ['keys', 'import', '--in', bundle], undefined, keysEnv);
      const publish = await startCapsule(home, SERVER_ENV);
      publishes.push(publish);
      if (index === 0) cli(home, ['keys', 'export', '--out', bundle], undefined, keysEnv);
      cli(home, ['users', 'add', 'reader', '--password-stdin'], 'reader-password');
      cli(home, ['config', 'set', 'capsule.farm.store', `url=${cluster.url('bench_farm')}`]);
      cli(home, ['config', 'set', 'capsule.auth.token', 'token.encapsulated=true']);
    }
    await stopAll();
    for (const home of homes) publishes.push(await startCapsule(home, SERVER_ENV));
    log(`3 publishes (capsule start each, on the server core, one farm store); ${revocations} sign-ins of one user spread over them`);
    // The sign-ins are set-up, not measured: the publishes may use both cores meanwhile, 4 in flight.
    for (const publish of publishes) pin(publish.child.pid!, ALL_CPUS);
    const signInStarted = process.hrtime.bigint();
    const tokens: string[] = new Array(revocations);
    let next = 0;
    const signer = async () => {
      for (let i = next++; i < revocations; i = next++) tokens[i] = await encapsulatedToken(publishes[i % 3]!.url);
    };
    await Promise.all([signer(), signer(), signer(), signer()]);
    const signInSeconds = Number(process.hrtime.bigint() - signInStarted) / 1e9;
    for (const publish of publishes) pin(publish.child.pid!, SERVER_CPU);
    const recorded = Number((await cluster.sql<{ n: string }>('bench_farm', `SELECT count(*) AS n FROM ${SESSIONS_TABLE} WHERE user_id = 'reader'`))[0]?.n ?? 0);
    const agents = publishes.map(() => new Agent({ keepAlive: true, maxSockets: 1 }));
    const revokeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const fromStart: number[] = [];
    const othersFromStart: number[] = [];
    const fromAnswer: number[] = [];
    const calls: number[] = [];
    const polls: number[] = [];
    let missed = 0;
    log(`revoking them one by one (DELETE /api/sessions/SID with the token itself, sent to each publish in turn); each publish polled on its own keep-alive connection, ${pauseMs} ms apart, until it refuses`);
    for (const [i, token] of tokens.entries()) {
      const sid = sessionIdOf(token);
      for (const [p, publish] of publishes.entries()) {
        const before = await sessionStatus(publish.url, agents[p]!, token);
        if (before.status !== 200) throw new Error(`publish ${p + 1} refuses session ${i} before its revocation (${before.status})`);
      }
      const start = process.hrtime.bigint();
      const answered = new Promise<bigint>((resolve, reject) => {
        const req = request(`${publishes[i % 3]!.url}/api/sessions/${sid}`, { method: 'DELETE', agent: revokeAgent, headers: { 'login-token': token } }, (response) => {
          response.resume();
          response.on('end', () => (response.statusCode! < 300 ? resolve(process.hrtime.bigint()) : reject(new Error(`DELETE answered ${response.statusCode}`))));
        });
        req.on('error', reject);
        req.end();
      });
      const refusedAt = await Promise.all(
        publishes.map(async (publish, p) => {
          for (;;) {
            const answer = await sessionStatus(publish.url, agents[p]!, token);
            polls.push(Number(answer.at - answer.sent) / 1e6);
            if (answer.status === 401) return answer.at;
            if (Number(answer.at - start) / 1e6 > guardMs) return null;
            await pause(pauseMs);
          }
        }),
      );
      const answer = await answered;
      calls.push(Number(answer - start) / 1e6);
      for (const [p, at] of refusedAt.entries()) {
        if (at === null) {
          missed++;
          continue;
        }
        fromStart.push(Number(at - start) / 1e6);
        if (p !== i % 3) othersFromStart.push(Number(at - start) / 1e6);
        fromAnswer.push(Number(at - answer) / 1e6);
      }
    }
    for (const agent of [...agents, revokeAgent]) agent.destroy();
    const sorted = (values: number[]) => [...values].sort((x, y) => x - y);
    return {
      revocations,
      publishes: publishes.length,
      fromStartMs: sorted(fromStart),
      othersFromStartMs: sorted(othersFromStart),
      fromAnswerMs: sorted(fromAnswer),
      callMs: median(calls),
      pollMs: median(polls),
      pauseMs,
      missed,
      recorded,
      signInSeconds,
    };
  } finally {
    await stopAll();
  }
}

async function benchmarkStoreSize(log: (line: string) => void, cluster: PostgresCluster, options: SessionsOptions): Promise<StoreSizeResults> {
  const perUser = 10;
  const limit = perUser;
  const measuredUsers = 100;
  const sizes = { small: 1_000, large: 1_000_000 } as const;
  const samples = options.quick ? 200 : 2000;
  const stores = {
    small: await openBenchSessionStore(await cluster.createDatabase('bench_sessions_small')),
    large: await openBenchSessionStore(await cluster.createDatabase('bench_sessions_large')),
  };
  try {
    const nowMs = Date.now();
    let insertSeconds = 0;
    for (const name of ['small', 'large'] as const) {
      const database = name === 'small' ? 'bench_sessions_small' : 'bench_sessions_large';
      const users = sizes[name] / perUser;
      const seconds = await insertSessionRows(cluster, database, { count: sizes[name], userId: `'bench-user-' || (i % ${users})`, ended: false, seed: name, nowMs });
      if (name === 'large') insertSeconds = seconds;
      log(`${sizes[name].toLocaleString('en')} live sessions (${users.toLocaleString('en')} users × ${perUser}) written in ${seconds.toFixed(1)} s`);
    }
    const tableMiB = async (database: string) =>
      Number((await cluster.sql<{ bytes: string }>(database, `SELECT pg_total_relation_size('${SESSIONS_TABLE}') AS bytes`))[0]?.bytes ?? 0) / 2 ** 20;
    const list: Record<'small' | 'large', number[]> = { small: [], large: [] };
    const create: Record<'small' | 'large', number[]> = { small: [], large: [] };
    const rounds = 10;
    const perRound = samples / rounds;
    let serial = 0;
    log(`listing a user's sessions and a sign-in's create (limit ${limit}: each one ends the user's oldest), ${samples} of each per store, one at a time, interleaved in ${rounds} rounds; users bench-user-0..${measuredUsers - 1} in both`);
    for (let round = 0; round < rounds; round++) {
      for (const name of (round % 2 === 0 ? ['small', 'large'] : ['large', 'small']) as Array<'small' | 'large'>) {
        const store = stores[name];
        for (let i = 0; i < perRound; i++) {
          const user = `bench-user-${(round * perRound + i) % measuredUsers}`;
          let started = process.hrtime.bigint();
          await store.listByUser(user, Date.now());
          list[name].push(Number(process.hrtime.bigint() - started) / 1e6);
          const record = sessionRecord(`c${name[0]}${String(++serial).padStart(20, '0')}`, user, Date.now());
          started = process.hrtime.bigint();
          await store.create(record, limit);
          create[name].push(Number(process.hrtime.bigint() - started) / 1e6);
        }
      }
    }
    const runOf = async (name: 'small' | 'large'): Promise<StoreSizeRun> => ({
      stored: sizes[name],
      listMs: median(list[name]),
      createMs: median(create[name]),
      tableMiB: await tableMiB(name === 'small' ? 'bench_sessions_small' : 'bench_sessions_large'),
    });
    return { small: await runOf('small'), large: await runOf('large'), samples, insertSeconds, perUser, limit };
  } finally {
    await stores.small.close();
    await stores.large.close();
  }
}

export async function benchmarkSessions(log: (line: string) => void, options: SessionsOptions): Promise<SessionsResults> {
  const started = Date.now();
  // A farm store waits for its commits; the database server on the server core, apart from this process.
  const cluster = await startPostgres({ settings: ['fsync=on', 'synchronous_commit=on'] });
  const postmaster = cluster.pid();
  if (postmaster !== null) pin(postmaster, SERVER_CPU);
  const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-sessions-'));
  try {
    const http = await benchmarkRevokedHttp(log, cluster, dir, options);
    const propagation = await benchmarkPropagation(log, cluster, dir, options);
    const size = await benchmarkStoreSize(log, cluster, options);
    return { http, propagation, size, wallSeconds: (Date.now() - started) / 1000 };
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

