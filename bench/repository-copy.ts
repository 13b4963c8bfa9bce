// Copying a home's repository (`capsule repository copy`, the function behind it): a SQLite
// repository with N users (user and membership nodes, as createUser writes them) copied into an
// empty PostgreSQL database of a throwaway cluster, and, as the reference measured in the same
// run, into a new SQLite file. `npx tsx bench/repository-copy.ts --users 20000`, or
// `npm run bench -- --only repository-copy --copy-users 20000`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/clock.js';
import { copyRepository, openPostgresRepository, openSqliteRepository, type Repository } from '../src/repository/index.js';
import { startPostgres } from '../test/helpers/postgres-cluster.js';
import { seedUsers } from '../test/helpers/seed-users.js';

const GROUPS = 20;
// Only stored, never checked: the copy moves text.
const PASSWORD_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$0123456789abcdefghijklmnopqrstuvwxyzABCDE';

export interface CopyRun {
  readonly users: number;
  readonly nodes: number;
  readonly seedSeconds: number;
  readonly sqliteSeconds: number;
  readonly postgresSeconds: number;
  /** This process's peak resident memory over the whole run (getrusage maxrss), SQLite's mapped file pages included. */
  readonly peakRssMiB: number;
  /**
   * The largest anonymous resident memory seen during each copy (RssAnon, sampled every 100 ms):
   * the heap and buffers, without the pages of the SQLite files that the kernel counts in the RSS
   * as they are read (mmap), which grow with the home whatever the copy holds.
   */
  readonly sqlitePeakAnonMiB: number;
  readonly postgresPeakAnonMiB: number;
}

function anonymousMiB(): number {
  const kib = /RssAnon:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return Number(kib ?? 0) / 1024;
}

async function timedCopy(source: Repository, target: Repository): Promise<{ seconds: number; nodes: number; peakAnonMiB: number }> {
  let peakAnonMiB = anonymousMiB();
  const sampler = setInterval(() => (peakAnonMiB = Math.max(peakAnonMiB, anonymousMiB())), 100);
  const started = process.hrtime.bigint();
  try {
    const { nodes } = await copyRepository(source, target);
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, nodes, peakAnonMiB: Math.max(peakAnonMiB, anonymousMiB()) };
  } finally {
    clearInterval(sampler);
    await target.close();
  }
}

export async function benchmarkRepositoryCopy(log: (line: string) => void, users: number): Promise<CopyRun> {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-copy-bench-'));
  const cluster = await startPostgres();
  try {
    const source = openSqliteRepository({ file: join(dir, 'source.sqlite'), create: true, clock: systemClock });
    try {
      log(`seeding ${users.toLocaleString('en')} users into SQLite`);
      const seedStarted = process.hrtime.bigint();
      await seedUsers(source, { count: users, groups: GROUPS, passwordHash: PASSWORD_HASH, batch: 25_000 });
      const seedSeconds = Number(process.hrtime.bigint() - seedStarted) / 1e9;
      log('copying into a new SQLite file (reference)');
      const sqlite = await timedCopy(source, openSqliteRepository({ file: join(dir, 'target.sqlite'), create: true, clock: systemClock }));
      log('copying into an empty PostgreSQL database');
      const url = await cluster.createDatabase();
      const postgres = await timedCopy(source, await openPostgresRepository({ url, create: true, clock: systemClock }));
      if (postgres.nodes !== sqlite.nodes) throw new Error(`the copies differ: ${sqlite.nodes} nodes into SQLite, ${postgres.nodes} into PostgreSQL`);
      return {
        users,
        nodes: postgres.nodes,
        seedSeconds,
        sqliteSeconds: sqlite.seconds,
        postgresSeconds: postgres.seconds,
        peakRssMiB: process.resourceUsage().maxRSS / 1024,
        sqlitePeakAnonMiB: sqlite.peakAnonMiB,
        postgresPeakAnonMiB: postgres.peakAnonMiB,
      };
    } finally {
      await source.close();
    }
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function copyLine(run: CopyRun): string {
  const rate = (seconds: number) => `${(run.nodes / seconds).toFixed(0)} nodes/s`;
  return [
    `  ${run.users.toLocaleString('en').padStart(9)} users (${run.nodes.toLocaleString('en')} nodes): into PostgreSQL ${run.postgresSeconds.toFixed(1)} s (${rate(run.postgresSeconds)}), into SQLite (reference) ${run.sqliteSeconds.toFixed(1)} s (${rate(run.sqliteSeconds)}); PostgreSQL takes ${(run.postgresSeconds / run.sqliteSeconds).toFixed(1)}× SQLite's time`,
    `  ${''.padStart(9)} peak anonymous RSS during the copy into PostgreSQL ${run.postgresPeakAnonMiB.toFixed(0)} MiB, into SQLite ${run.sqlitePeakAnonMiB.toFixed(0)} MiB; peak RSS of the process ${run.peakRssMiB.toFixed(0)} MiB with the SQLite files' mapped pages (seeding took ${run.seedSeconds.toFixed(0)} s)`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argument = process.argv.indexOf('--users');
  const users = argument > 0 ? Number(process.argv[argument + 1]) : 20_000;
  console.log(copyLine(await benchmarkRepositoryCopy((line) => console.error(`  … ${line}`), users)));
}
