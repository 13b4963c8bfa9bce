import { join } from 'node:path';
import { after } from 'node:test';
import { openPostgresRepository, openSqliteRepository, type Repository } from '../../src/repository/index.js';
import { runPostgres, startPostgres, type PostgresCluster } from './postgres-cluster.js';
import { tempDir } from './temp.js';
import { systemClock } from '../../src/clock.js';

export { POSTGRES_PASSWORD, postgresInstalled, startPostgres } from './postgres-cluster.js';
export type { PostgresCluster } from './postgres-cluster.js';

export interface RepositoryBackendUnderTest {
  readonly name: 'sqlite' | 'postgres';
  /** Where a fresh, empty repository is (a file path or a postgres URL with password); not created yet. */
  location(): Promise<string>;
  /** Opens (creating) a fresh repository, closed after the test file. */
  open(location?: string): Promise<Repository>;
  /** Opens an existing repository at `location` (closed after the test file). */
  reopen(location: string): Promise<Repository>;
}

/**
 * The backends every repository contract test runs against; on PostgreSQL, a fresh database of
 * the cluster sharedPostgres gives.
 */
export function repositoryBackends(): RepositoryBackendUnderTest[] {
  const cluster = sharedPostgres();
  const opened: Repository[] = [];
  after(async () => {
    for (const repo of opened) await repo.close().catch(() => undefined);
  });
  const track = (repo: Repository) => {
    opened.push(repo);
    return repo;
  };
  const sqlite: RepositoryBackendUnderTest = {
    name: 'sqlite',
    location: async () => join(tempDir(), 'repository.sqlite'),
    async open(location) {
      return track(openSqliteRepository({ file: location ?? (await sqlite.location()), create: true, clock: systemClock }));
    },
    reopen: async (location) => track(openSqliteRepository({ file: location, clock: systemClock })),
  };
  const postgres: RepositoryBackendUnderTest = {
    name: 'postgres',
    location: async () => (await cluster()).createDatabase(),
    async open(location) {
      return track(await openPostgresRepository({ url: location ?? (await postgres.location()), create: true, clock: systemClock }));
    },
    reopen: async (location) => track(await openPostgresRepository({ url: location, clock: systemClock })),
  };
  return [sqlite, postgres];
}

/**
 * The cluster of the test run (scripts/run-tests.ts, which `npm test` runs) when there is one,
 * else one of the file's own: for files that make their own databases and leave the server alone.
 */
export function sharedPostgres(): () => Promise<PostgresCluster> {
  const shared = runPostgres();
  if (shared !== undefined) return async () => shared;
  return postgresOfItsOwn();
}

/** A cluster of the file's own, started on first call and stopped after the file: for files that stop, kill or restart PostgreSQL. */
export function postgresOfItsOwn(): () => Promise<PostgresCluster> {
  let cluster: Promise<PostgresCluster> | undefined;
  after(async () => (await cluster)?.stop());
  return () => (cluster ??= startPostgres());
}
