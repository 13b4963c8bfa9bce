// HTTP throughput: a real instance (`capsule start`) pinned to one core, autocannon in this
// process pinned to the other, and a bare Fastify route returning the same JSON as the ceiling.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import autocannon from 'autocannon';
import { median } from './measure.js';
import { cpuSecondsOf, rssOf, SERVER_CPU, spawnNodeOn } from './pinning.js';

export const BIN = fileURLToPath(new URL('../bin/capsule', import.meta.url));
const BARE_FASTIFY = fileURLToPath(new URL('./bare-fastify.ts', import.meta.url));

export interface HttpRun {
  readonly name: string;
  readonly requestsPerSecond: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly non2xx: number;
  /** Server CPU per request (µs): what the server spends, whether or not the load generator kept up. */
  readonly serverCpuUsPerRequest: number;
  /** Share of one core the server used during the run. */
  readonly serverBusy: number;
}

export interface HttpResults {
  /** Each plan's best round. */
  readonly runs: readonly HttpRun[];
  /** Every round, plans in the order of `runs`. */
  readonly rounds: readonly HttpRun[][];
  readonly idleRssMiB: number;
  readonly loadRssMiB: number;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export function cli(home: string, args: string[], stdin?: string, env: NodeJS.ProcessEnv = process.env): void {
  execFileSync(process.execPath, [BIN, ...args, '--home', home], { input: stdin ?? '', stdio: ['pipe', 'ignore', 'inherit'], env });
}

export async function login(url: string, user = 'reader', password = 'reader-password'): Promise<string> {
  const response = await fetch(`${url}/j_security_check`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ j_username: user, j_password: password }),
  });
  const cookie = response.headers.getSetCookie()[0] ?? '';
  return /^login-token=([^;]+)/.exec(cookie)?.[1] ?? '';
}

export async function waitUntilUp(url: string, child: ChildProcess, waitMs = 20_000): Promise<void> {
  for (let i = 0; i < waitMs / 100; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if (await fetch(`${url}/system/health`).then(() => true, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no answer from ${url}`);
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** `capsule start` on the server core; `launch` names another build's `bin/capsule` and Node options (a profiler's). */
export async function startCapsule(
  home: string,
  env: NodeJS.ProcessEnv = process.env,
  args: string[] = [],
  launch: { bin?: string; nodeArgs?: readonly string[] } = {},
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawnNodeOn(SERVER_CPU, [...(launch.nodeArgs ?? []), launch.bin ?? BIN, 'start', '--home', home, '--port', String(port), ...args], {
    env: { ...env, CAPSULE_ADMIN_PASSWORD: 'bench-admin-password', CAPSULE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(url, child);
  return { url, child };
}

/**
 * `capsule start` on a chosen loopback address, not pinned: instances that play separate machines
 * (an author and its publishes). `waitMs`: how long its start may take (a large home's is longer).
 */
export async function startOnAddress(home: string, host: string, waitMs?: number): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'start', '--home', home, '--host', host, '--port', String(port)], {
    env: { ...process.env, CAPSULE_ADMIN_PASSWORD: 'bench-admin-password', CAPSULE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://${host}:${port}`;
  await waitUntilUp(url, child, waitMs);
  return { url, child };
}

/** One autocannon run; `serverPid` is sampled for CPU time (and `onSample` for memory) while it runs. */
export async function run(
  name: string,
  url: string,
  durationSeconds: number,
  connections: number,
  cookie?: string,
  serverPid?: number,
  onSample?: () => void,
): Promise<HttpRun> {
  const cpuBefore = serverPid ? cpuSecondsOf(serverPid) : 0;
  const sampler = onSample ? setInterval(onSample, 500) : undefined;
  const started = process.hrtime.bigint();
  const result = await autocannon({ url, connections, duration: durationSeconds, headers: cookie ? { cookie: `login-token=${cookie}` } : {} });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  const cpu = serverPid ? cpuSecondsOf(serverPid) - cpuBefore : 0;
  const total = result.requests.total || 1;
  return {
    name,
    requestsPerSecond: result.requests.average,
    p99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    serverCpuUsPerRequest: (cpu * 1e6) / total,
    serverBusy: cpu / seconds,
  };
}

type HttpPlan = { name: string; url: string; cookie?: string; pid: number };

/**
 * Runs each plan once per round, in turn, each round starting one plan further on (so that no
 * plan always runs first, or right after the same one); gives each one's best round and every
 * round (plans in the order given).
 */
export async function interleavedRounds(
  plans: ReadonlyArray<HttpPlan>,
  rounds: number,
  durationSeconds: number,
  connections: number,
  onSample?: () => void,
): Promise<{ best: HttpRun[]; rounds: HttpRun[][] }> {
  const best = new Map<string, HttpRun>();
  const all: HttpRun[][] = [];
  for (let round = 0; round < rounds; round++) {
    const runs: HttpRun[] = new Array(plans.length);
    for (let turn = 0; turn < plans.length; turn++) {
      const index = (turn + round) % plans.length;
      const plan = plans[index]!;
      const result = await run(plan.name, plan.url, durationSeconds, connections, plan.cookie, plan.pid, onSample);
      runs[index] = result;
      if ((best.get(plan.name)?.requestsPerSecond ?? 0) < result.requestsPerSecond) best.set(plan.name, result);
    }
    all.push(runs);
  }
  return { best: plans.map((plan) => best.get(plan.name)!), rounds: all };
}

/** `interleavedRounds`, keeping each plan's best round. */
export async function interleaved(
  plans: ReadonlyArray<HttpPlan>,
  rounds: number,
  durationSeconds: number,
  connections: number,
  onSample?: () => void,
): Promise<HttpRun[]> {
  return (await interleavedRounds(plans, rounds, durationSeconds, connections, onSample)).best;
}

/**
 * The median over rounds of plan `a`'s throughput over plan `b`'s in the same round. Why not the
 * ratio of best rounds: on this VM a round's throughput swings by ±10–30% with the host's other
 * tenants, and two runs a few seconds apart share most of that swing, so the ratio within a
 * round is steadier than either best.
 */
export function medianRoundRatio(rounds: readonly HttpRun[][], a: number, b: number): number {
  return median(rounds.map((runs) => runs[a]!.requestsPerSecond / runs[b]!.requestsPerSecond));
}

export const PUBLIC_PAGE = '/content/site/public';
export const MEMBERS_PAGE = '/content/site/members';

/** Content, a group and a reader in a home (through the CLI, as an operator would). */
export function seedContent(home: string, env: NodeJS.ProcessEnv = process.env): void {
  cli(home, ['content', 'put', PUBLIC_PAGE, '--json', '{"title":"Public page","body":"Hello, visitor","tags":["news","public"]}'], undefined, env);
  cli(home, ['content', 'put', MEMBERS_PAGE, '--json', '{"title":"Members page","body":"Hello, member","allowedGroups":["members"]}'], undefined, env);
  cli(home, ['groups', 'add', 'members'], undefined, env);
  cli(home, ['users', 'add', 'reader', '--password-stdin', '--group', 'members'], 'reader-password', env);
}

/**
 * Seeds the content, logs the reader in with a stateful token, switches the instance to
 * encapsulated tokens (applied live) and logs in again: one token of each kind.
 */
export async function seedAndLogInBothKinds(url: string, home: string): Promise<{ stateful: string; encapsulated: string }> {
  seedContent(home);
  const stateful = await login(url);
  cli(home, ['config', 'set', 'capsule.auth.token', 'token.encapsulated=true']);
  let encapsulated = '';
  for (let i = 0; i < 50 && !encapsulated.includes('.'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    encapsulated = await login(url);
  }
  return { stateful, encapsulated };
}

// 12 rounds: a multiple of the four plans, so that each runs in each place of a round as often.
export async function benchmarkHttp(log: (line: string) => void, durationSeconds = 3, connections = 32, rounds = 12): Promise<HttpResults> {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-http-'));
  const home = join(dir, 'home');
  const { url, child: server } = await startCapsule(home);
  let bare: ChildProcess | undefined;
  try {
    const { stateful, encapsulated } = await seedAndLogInBothKinds(url, home);
    const body = await (await fetch(`${url}${PUBLIC_PAGE}.json`)).text();
    const barePort = await freePort();
    bare = spawnNodeOn(SERVER_CPU, ['--import', 'tsx', BARE_FASTIFY], {
      env: { ...process.env, BENCH_BODY: body, BENCH_PORT: String(barePort) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const bareUrl = `http://127.0.0.1:${barePort}`;
    for (let i = 0; i < 100 && !(await fetch(`${bareUrl}${PUBLIC_PAGE}.json`).then(() => true, () => false)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the server's start-up work settles
    const idleRssMiB = rssOf(server.pid!).rssMiB;
    log(`server on ${url}, bare Fastify on ${bareUrl}; ${connections} connections, ${rounds} interleaved rounds of ${durationSeconds} s`);
    await run('warm-up', `${url}${PUBLIC_PAGE}.json`, 2, connections);
    await run('warm-up', `${url}${MEMBERS_PAGE}.json`, 1, connections, stateful);
    await run('warm-up', `${url}${MEMBERS_PAGE}.json`, 1, connections, encapsulated);
    await run('warm-up', `${bareUrl}${PUBLIC_PAGE}.json`, 2, connections);
    let loadRssMiB = 0;
    const sample = () => (loadRssMiB = Math.max(loadRssMiB, rssOf(server.pid!).rssMiB));
    const measured = await interleavedRounds(
      [
        { name: `bare Fastify route, same JSON (ceiling)`, url: `${bareUrl}${PUBLIC_PAGE}.json`, pid: bare.pid! },
        { name: `anonymous GET ${PUBLIC_PAGE}.json`, url: `${url}${PUBLIC_PAGE}.json`, pid: server.pid! },
        { name: `encapsulated token GET ${MEMBERS_PAGE}.json`, url: `${url}${MEMBERS_PAGE}.json`, cookie: encapsulated, pid: server.pid! },
        { name: `stateful token GET ${MEMBERS_PAGE}.json`, url: `${url}${MEMBERS_PAGE}.json`, cookie: stateful, pid: server.pid! },
      ],
      rounds,
      durationSeconds,
      connections,
      sample,
    );
    return { runs: measured.best, rounds: measured.rounds, idleRssMiB, loadRssMiB };
  } finally {
    if (bare) await stopChild(bare);
    await stopChild(server);
    rmSync(dir, { recursive: true, force: true });
  }
}
