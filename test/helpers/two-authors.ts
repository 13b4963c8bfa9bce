import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after } from 'node:test';
import { runCliInProcess, type CliResult } from './cli.js';
import { healthAsAdmin, login, sessionStatus } from './http.js';
import type { PostgresCluster } from './postgres.js';
import { startServerProcess, type ServerProcess } from './server-process.js';
import { tempDir } from './temp.js';

export const ADMIN_PASSWORD = 'admin-password';
export const PASSPHRASE = 'correct horse battery staple';
/** Protected when the cluster is made; every author must keep decrypting it. */
export const PLAIN = 'cluster-secret-5e1b';

/** Two authors, each its own home and process, on one PostgreSQL database. */
export interface TwoAuthors {
  readonly homes: readonly [string, string];
  readonly database: string;
  /** A value protected with the keys the cluster was made with. */
  readonly protectedValue: string;
  /** The running processes (empty while stopped). */
  readonly servers: readonly ServerProcess[];
  /** Stops both authors (SIGTERM) and waits until they are gone. */
  stop(): Promise<void>;
  /** Starts both; fails with each one's output when it does not come up. */
  start(): Promise<readonly ServerProcess[]>;
  /** `capsule …` with the database password and the bundle passphrase in the environment. */
  cli(args: readonly string[], stdin?: string): Promise<CliResult>;
  /** Every file of both homes but audit.log (path, mode, SHA-256), and every node and counter of the repository. */
  snapshot(): Promise<unknown>;
}

/** Clusters of this test file: stopped after it, so that a failed test leaves no author running (and the file ends). */
const clusters = new Set<TwoAuthors>();
after(() => Promise.all([...clusters].map((cluster) => cluster.stop())));

export async function startTwoAuthors(pg: PostgresCluster, options: { keyStorage: 'repository' | 'file' }): Promise<TwoAuthors> {
  const database = (await pg.createDatabase()).split('/').pop()!;
  const url = pg.url(database);
  const root = tempDir();
  const homes = [join(root, 'author-1'), join(root, 'author-2')] as const;
  const env = { ...pg.env, CAPSULE_ADMIN_PASSWORD: ADMIN_PASSWORD, CAPSULE_KEYS_PASSPHRASE: PASSPHRASE };
  const cli = (args: readonly string[], stdin?: string) => runCliInProcess(args, { env, stdin });
  let servers: ServerProcess[] = [];
  const startOne = (home: string, extra: string[] = []) => startServerProcess({ home, args: ['--repository', url, ...extra], env, waitMs: 30_000 });

  // The first author makes the keys; the second joins them (/etc/key), or imports them (key files).
  const first = await startOne(homes[0], options.keyStorage === 'repository' ? ['--key-storage', 'repository'] : []);
  await first.stop();
  if (options.keyStorage === 'file') {
    const bundle = join(root, 'cluster.bundle');
    assert.equal((await cli(['keys', 'export', '--out', bundle, '--home', homes[0]])).code, 0);
    const imported = await cli(['keys', 'import', '--in', bundle, '--home', homes[1]]);
    assert.equal(imported.code, 0, imported.stderr);
  }
  const second = await startOne(homes[1]);
  await second.stop();
  const encapsulated = await cli(['config', 'set', 'capsule.auth.token', 'token.encapsulated=true', '--home', homes[0]]);
  assert.equal(encapsulated.code, 0, encapsulated.stderr); // tokens that only the same HMAC key verifies
  const protectedValue = (await cli(['keys', 'protect', '--home', homes[0]], PLAIN)).stdout.trim();
  assert.match(protectedValue, /^\{cap1:/);

  const cluster: TwoAuthors = {
    homes,
    database,
    protectedValue,
    get servers() {
      return servers;
    },
    async stop() {
      await Promise.all(servers.map((server) => server.stop()));
      servers = [];
    },
    async start() {
      assert.equal(servers.length, 0, 'the authors are stopped');
      const started = await Promise.allSettled(homes.map((home) => startOne(home)));
      servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      const failures = started.flatMap((result, index) => (result.status === 'rejected' ? [`author-${index + 1} did not start: ${(result.reason as Error).message}`] : []));
      assert.deepEqual(failures, [], 'both authors start');
      return servers;
    },
    cli,
    async snapshot() {
      const nodes = await pg.sql(database, 'SELECT path, type, props, created, modified FROM capsule_nodes ORDER BY path');
      const counters = await pg.sql(database, 'SELECT name, value FROM capsule_counters ORDER BY name');
      return { homes: homes.map(filesOf), nodes, counters };
    },
  };
  clusters.add(cluster);
  return cluster;
}

function filesOf(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      // The CLI's audit log records every attempt, the refused ones too: a record, not a change.
      if (dir === root && name === 'audit.log') continue;
      const path = join(dir, name);
      const stat = statSync(path);
      const mode = (stat.mode & 0o777).toString(8);
      if (stat.isDirectory()) {
        files[`${relative(root, path)}/`] = mode;
        walk(path);
      } else {
        files[relative(root, path)] = `${mode} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
      }
    }
  };
  if (existsSync(root)) walk(root);
  return files;
}

interface HealthBody {
  checks: { name: string; message: string }[];
}

/**
 * What an author cluster must do after any key command, asserted on the running processes:
 * each verifies an (encapsulated) token issued by the other, both run with the same keys, and
 * each home decrypts a value the other protected (and the cluster's first value, unless the
 * keys were replaced on purpose).
 */
export async function assertBothWork(cluster: TwoAuthors, options: { firstValueDecrypts?: boolean } = {}): Promise<void> {
  const [one, two] = cluster.servers;
  assert.ok(one && two, 'both authors run');
  for (const [issuer, verifier, names] of [[one, two, '1 → 2'], [two, one, '2 → 1']] as const) {
    const token = await login(issuer.url, 'admin', ADMIN_PASSWORD);
    assert.equal(token.split('.').length, 3, 'an encapsulated token (HMAC-signed)');
    assert.equal(await sessionStatus(verifier.url, token), 200, `a token issued by author-${names[0]} verifies on author-${names.at(-1)}`);
  }
  const keys = await Promise.all(
    [one, two].map(async (server) => ((await (await healthAsAdmin(server.url, ADMIN_PASSWORD)).json()) as HealthBody).checks.find((check) => check.name === 'keys')?.message),
  );
  assert.equal(keys[0], keys[1], 'both running authors hold the same keys');
  for (const [from, to] of [[0, 1], [1, 0]] as const) {
    const plain = `from author-${from + 1}`;
    const value = (await cluster.cli(['keys', 'protect', '--home', cluster.homes[from]], plain)).stdout.trim();
    const read = await cluster.cli(['keys', 'unprotect', '--home', cluster.homes[to]], value);
    assert.equal(read.stdout.trim(), plain, `author-${to + 1} decrypts a value protected on author-${from + 1}: ${read.stderr}`);
  }
  if (options.firstValueDecrypts ?? true) {
    for (const home of cluster.homes) {
      const read = await cluster.cli(['keys', 'unprotect', '--home', home], cluster.protectedValue);
      assert.equal(read.stdout.trim(), PLAIN, `${home} decrypts the value protected when the cluster was made: ${read.stderr}`);
    }
  }
}

/** Stops both authors, starts both again, and checks the cluster; returns what they logged at start. */
export async function restartAndCheck(cluster: TwoAuthors, options: { firstValueDecrypts?: boolean } = {}): Promise<string[]> {
  await cluster.stop();
  const servers = await cluster.start();
  await assertBothWork(cluster, options);
  return servers.map((server) => server.output());
}
