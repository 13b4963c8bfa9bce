import { join } from 'node:path';
import { after } from 'node:test';
import { openPostgresRepository, openSqliteRepository, type Repository } from '../../src/repository/index.js';
import { startPostgres, type PostgresCluster } from './postgres-cluster.js';
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
 * The backends every repository contract test runs against. One PostgreSQL cluster is shared by
 * the whole test file: started on first use, stopped by PID when the file's tests end.
 */
export function repositoryBackends(): RepositoryBackendUnderTest[] {
  let cluster: Promise<PostgresCluster> | undefined;
  const opened: Repository[] = [];
  after(async () => {
    for (const repo of opened) await repo.close().catch(() => undefined);
    await (await cluster)?.stop();
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
    async location() {
      cluster ??= startPostgres();
      return (await cluster).createDatabase();
    },
    async open(location) {
      return track(await openPostgresRepository({ url: location ?? (await postgres.location()), create: true, clock: systemClock }));
    },
    reopen: async (location) => track(await openPostgresRepository({ url: location, clock: systemClock })),
  };
  return [sqlite, postgres];
}

/** The cluster a test file shares, started on first call and stopped after the file. */
export function sharedPostgres(): () => Promise<PostgresCluster> {
  let cluster: Promise<PostgresCluster> | undefined;
  after(async () => (await cluster)?.stop());
  return () => (cluster ??= startPostgres());
}
