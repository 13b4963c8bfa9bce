import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';

// A throwaway PostgreSQL cluster (no node:test here, so that the benchmark can use it too).

const BIN = '/usr/lib/postgresql/15/bin';
/** The superuser's password in every throwaway cluster (host connections need one: scram-sha-256). */
export const POSTGRES_PASSWORD = 'pg-test-secret-7f3a';

export interface PostgresCluster {
  readonly host: string;
  readonly port: number;
  /** The postmaster's PID while it runs. */
  pid(): number | null;
  /** A URL for `database` without the password (it is found in PGPASSWORD: see `env`). */
  url(database: string): string;
  /** The same URL with the password in it. */
  urlWithPassword(database: string): string;
  /** PGPASSWORD for child processes. */
  readonly env: NodeJS.ProcessEnv;
  /** Creates an empty database and returns its URL with the password. */
  createDatabase(name?: string): Promise<string>;
  /** Runs SQL as the superuser in `database`. */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(database: string, text: string, values?: unknown[]): Promise<R[]>;
  /** Stops the server (fast shutdown, by PID: what `pg_ctl stop -m fast` sends) and waits until it is gone. */
  stop(): Promise<void>;
  /** Kills the postmaster with SIGKILL (a crash) and waits until its server processes have ended; `start` recovers. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
}

const running = new Set<number>();
function stopAllNow(): void {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGQUIT'); // immediate shutdown: this process is going away
    } catch {
      // already gone
    }
  }
}
process.once('exit', stopAllNow);
// A test runner's timeout or ^C ends this process by a signal, which skips 'exit' handlers.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    stopAllNow();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  });
}

function postgresUid(): { uid: number; gid: number } {
  return { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) };
}

function asPostgres(args: string[]): string {
  return execFileSync('runuser', ['-u', 'postgres', '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Alive and not a zombie (a killed process whose parent has not collected it yet is gone too). */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)]).toString().split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`PostgreSQL: ${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A throwaway PostgreSQL 15 cluster: initdb in a folder owned by `postgres`, a server on a free
 * loopback port started with pg_ctl as `postgres`, and stopped by its PID. One per test run
 * (scripts/run-tests.ts), or per test file that runs alone or needs one of its own.
 */
export async function startPostgres(options: { settings?: readonly string[] } = {}): Promise<PostgresCluster> {
  const { uid, gid } = postgresUid();
  const root = mkdtempSync(join(tmpdir(), 'capsule-pg-'));
  chownSync(root, uid, gid);
  const data = join(root, 'data');
  const pwfile = join(root, 'pwfile');
  writeFileSync(pwfile, `${POSTGRES_PASSWORD}\n`, { mode: 0o600 });
  chownSync(pwfile, uid, gid);
  asPostgres([
    `${BIN}/initdb`, '-D', data, '-U', 'postgres', '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256',
    '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync',
  ]);
  rmSync(pwfile);
  const host = '127.0.0.1';
  const port = await freePort();
  let pid: number | null = null;

  async function start(): Promise<void> {
    const serverOptions = `-p ${port} -k ${root} -c listen_addresses=${host} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200${(options.settings ?? []).map((setting) => ` -c ${setting}`).join('')}`;
    asPostgres([`${BIN}/pg_ctl`, '-D', data, '-l', join(root, 'log'), '-o', serverOptions, '-w', '-t', '60', 'start']);
    pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    running.add(pid);
    await waitFor(async () => {
      const client = new pg.Client({ host, port, user: 'postgres', password: POSTGRES_PASSWORD, database: 'postgres' });
      try {
        await client.connect();
        await client.end();
        return true;
      } catch {
        await client.end().catch(() => undefined);
        return false;
      }
    }, 'accepting connections');
  }

  async function stop(): Promise<void> {
    if (pid === null) return;
    const stopping = pid;
    pid = null;
    if (isRunning(stopping)) process.kill(stopping, 'SIGINT'); // fast shutdown
    await waitFor(() => !isRunning(stopping) && !existsSync(join(data, 'postmaster.pid')), 'shutdown');
    running.delete(stopping);
  }

  async function kill(): Promise<void> {
    if (pid === null) return;
    const killing = pid;
    pid = null;
    // Stopped first, so that it forks no server process between the listing and the kill. Its
    // server processes notice its death and end; a new server would refuse to start beside them.
    process.kill(killing, 'SIGSTOP');
    const children = childrenOf(killing);
    process.kill(killing, 'SIGKILL');
    await waitFor(() => !isRunning(killing) && children.every((child) => !isRunning(child)), 'the end of the killed server\'s processes');
    running.delete(killing);
    // Its lock files stay behind; a zombie (no one may collect it here) would make them look in use.
    for (const file of [join(data, 'postmaster.pid'), join(root, `.s.PGSQL.${port}.lock`), join(root, `.s.PGSQL.${port}`)]) rmSync(file, { force: true });
  }

  await start();
  process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  return { ...clientOf(host, port, () => pid), stop, kill, start };
}

/** What a test file may do on a running cluster: connect, make databases, run SQL. */
function clientOf(host: string, port: number, pid: () => number | null): Omit<PostgresCluster, 'stop' | 'kill' | 'start'> {
  let databases = 0;
  // Files of one run share a cluster, and a PID may come back within a run: the random digits keep names apart.
  const prefix = `capsule_${process.pid}_${randomInt(100_000, 1_000_000)}`;
  const url = (database: string) => `postgres://postgres@${host}:${port}/${database}`;
  const urlWithPassword = (database: string) => `postgres://postgres:${POSTGRES_PASSWORD}@${host}:${port}/${database}`;
  async function sql<R extends pg.QueryResultRow>(database: string, text: string, values: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({ host, port, user: 'postgres', password: POSTGRES_PASSWORD, database });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  }
  return {
    host,
    port,
    pid,
    url,
    urlWithPassword,
    env: { PGPASSWORD: POSTGRES_PASSWORD },
    async createDatabase(name = `${prefix}${++databases}`) {
      await sql('postgres', `CREATE DATABASE "${name}"`);
      return urlWithPassword(name);
    },
    sql,
  };
}

/** Where scripts/run-tests.ts tells the test files about the one cluster of the run: JSON `{ host, port, pid }`. */
export const RUN_POSTGRES_VARIABLE = 'CAPSULE_TEST_POSTGRES';

/**
 * The cluster the whole test run shares, when scripts/run-tests.ts started one: a file makes its
 * own databases in it. It is not the file's to stop, kill or restart: a file that does gets a
 * cluster of its own (startPostgres).
 */
export function runPostgres(env: NodeJS.ProcessEnv = process.env): PostgresCluster | undefined {
  const given = env[RUN_POSTGRES_VARIABLE];
  if (given === undefined || given === '') return undefined;
  const { host, port, pid } = JSON.parse(given) as { host: string; port: number; pid: number };
  const refuse = async () => {
    throw new Error(`the test run's PostgreSQL cluster is shared by every test file: a file that stops, kills or restarts PostgreSQL starts its own (startPostgres, or postgresOfItsOwn)`);
  };
  return { ...clientOf(host, port, () => pid), stop: refuse, kill: refuse, start: refuse };
}

/** Debian's PostgreSQL 15 is installed (CI installs it; see .ci/run). */
export const postgresInstalled = existsSync(`${BIN}/initdb`);
