/**
 * The test run of `npm test`: starts one PostgreSQL cluster for every test file (when PostgreSQL
 * is installed; a file makes its own databases in it: test/helpers/postgres.ts), runs every
 * test/**\/*.test.ts with `node --test`, two files at a time, and stops the cluster by its PID
 * when the run ends, however it ends. The runner's output is left as it is: CI reads its summary.
 *
 *   node --import tsx scripts/run-tests.ts [file…]     (default: every test file)
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { postgresInstalled, RUN_POSTGRES_VARIABLE, startPostgres, type PostgresCluster } from '../test/helpers/postgres-cluster.js';

/** test/**\/*.test.ts in code-point order (Node 20's runner does not expand globs). */
function testFiles(): string[] {
  return readdirSync('test', { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.ts'))
    .map((file) => join('test', file))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function main(): Promise<number> {
  const files = process.argv.length > 2 ? process.argv.slice(2) : testFiles();
  // Two files at a time, each with its pool: room for both and for the servers they start.
  const cluster: PostgresCluster | undefined = postgresInstalled ? await startPostgres({ settings: ['max_connections=400'] }) : undefined;
  try {
    const env = { ...process.env };
    if (cluster) env[RUN_POSTGRES_VARIABLE] = JSON.stringify({ host: cluster.host, port: cluster.port, pid: cluster.pid() });
    const runner = spawn(process.execPath, ['--test', '--import', 'tsx', '--test-concurrency=2', ...files], { stdio: 'inherit', env });
    // Ended by a signal (postgres-cluster.ts then stops the cluster and exits): the runner goes too.
    const endRunner = () => {
      if (runner.exitCode === null && runner.signalCode === null) runner.kill('SIGTERM');
    };
    process.once('exit', endRunner);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      runner.once('error', reject);
      runner.once('close', (exitCode, signalCode) => resolve([exitCode, signalCode]));
    });
    process.off('exit', endRunner);
    return code ?? (signal ? 1 : 0);
  } finally {
    await cluster?.stop();
  }
}

process.exitCode = await main();
