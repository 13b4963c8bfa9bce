// Replication lag: an author and three publishes, each `capsule start` in its own process on
// loopback; 1,000 changes (logout-everywhere through the author's API, so each is one
// committed outbox item) and how long each takes to be applied on each publish.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openServices, type Services } from '../src/instance/index.js';
import { OUTBOX_COUNTER, readAgentState } from '../src/replication/index.js';
import { systemClock } from '../src/clock.js';
import { cli, startOnAddress } from './http.js';
import { percentile } from './measure.js';

export interface LagRun {
  readonly name: string;
  readonly changes: number;
  readonly publishes: number;
  readonly changesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const ADMIN = 'bench-admin-password'; // what startOnAddress gives the admin

export async function benchmarkReplication(log: (line: string) => void, changes = 1000, publishCount = 3): Promise<LagRun[]> {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-replication-'));
  const children: ChildProcess[] = [];
  let authorServices: Services | undefined;
  try {
    const author = await startOnAddress(join(dir, 'author'), '127.0.0.1');
    children.push(author.child);
    const agents: string[] = [];
    for (let index = 1; index <= publishCount; index++) {
      const home = join(dir, `publish-${index}`);
      const publish = await startOnAddress(home, `127.0.0.${index + 1}`);
      children.push(publish.child);
      cli(home, ['users', 'add', 'replicator', '--password-stdin', '--group', 'replication-receivers'], 'transport-pw\n');
      cli(join(dir, 'author'), ['replication', 'add-agent', `publish-${index}`, '--url', publish.url, '--transport-user', 'replicator', '--transport-password-stdin', '--retry-delay', '1'], 'transport-pw\n');
      agents.push(`publish-${index}`);
    }
    authorServices = await openServices({ home: join(dir, 'author'), clock: systemClock });
    const services = authorServices;
    log(`${changes} users on the author`);
    const users = Array.from({ length: changes }, (_, i) => `user-${i}`);
    for (const id of users.slice(0, 1)) cli(join(dir, 'author'), ['users', 'add', id, '--password-stdin'], 'bench-user-password\n');
    // The rest by the library (hashing a thousand passwords is not what is measured).
    const { createUserManager, createArgon2Hasher } = await import('../src/users/index.js');
    const { createOutbox } = await import('../src/replication/index.js');
    const writer = createUserManager({ repo: services.repo, hasher: createArgon2Hasher({ memoryCost: 1024, timeCost: 1 }), outbox: createOutbox(services.repo) });
    for (const id of users.slice(1)) await writer.createUser(id, { password: 'bench-user-password' });
    const delivered = async (seq: number) => {
      for (const agent of agents) if (((await readAgentState(services.repo, agent))?.cursor ?? 0) < seq) return false;
      return true;
    };
    const settle = async () => {
      const head = await services.repo.readCounter(OUTBOX_COUNTER);
      while (!(await delivered(head))) await new Promise((resolve) => setTimeout(resolve, 50));
    };
    await settle();
    const login = await fetch(`${author.url}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ j_username: 'admin', j_password: ADMIN }),
    });
    const token = /^login-token=([^;]+)/.exec(login.headers.getSetCookie()[0] ?? '')?.[1] ?? '';

    const runs: LagRun[] = [];
    for (const [name, concurrency, pauseMs] of [
      ['paced, one change every 20 ms', 1, 20],
      ['burst, 8 changes in flight', 8, 0],
    ] as const) {
      log(name);
      const committed = new Map<number, number>(); // outbox seq -> when its API call returned
      const applied = new Map<number, number>(); // outbox seq -> when every publish had it (seen by polling)
      let polling = true;
      const poller = (async () => {
        while (polling || applied.size < committed.size) {
          const cursors = await Promise.all(agents.map(async (agent) => (await readAgentState(services.repo, agent))?.cursor ?? 0));
          const reached = Math.min(...cursors);
          const now = performance.now();
          for (const seq of committed.keys()) if (seq <= reached && !applied.has(seq)) applied.set(seq, now);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      const start = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < changes) {
            const id = users[next++]!;
            const response = await fetch(`${author.url}/api/users/${id}/logout-everywhere`, { method: 'POST', headers: { 'login-token': token } });
            await response.arrayBuffer();
            const seq = await services.repo.readCounter(OUTBOX_COUNTER);
            if (concurrency === 1) committed.set(seq, performance.now());
            else committed.set(seq, Math.max(committed.get(seq) ?? 0, performance.now()));
            if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
          }
        }),
      );
      polling = false;
      await poller;
      const elapsed = (performance.now() - start) / 1000;
      const lags = [...committed].map(([seq, at]) => applied.get(seq)! - at).sort((a, b) => a - b);
      runs.push({
        name,
        changes,
        publishes: publishCount,
        changesPerSecond: changes / elapsed,
        p50Ms: Math.round(percentile(lags, 50)),
        p99Ms: Math.round(percentile(lags, 99)),
        maxMs: Math.round(lags[lags.length - 1]!),
      });
    }
    return runs;
  } finally {
    await authorServices?.close();
    for (const child of children) child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const runs = await benchmarkReplication((line) => console.error(`  … ${line}`));
  for (const run of runs) {
    console.log(`  ${run.name.padEnd(32)} ${run.changes} changes to ${run.publishes} publishes: ${run.changesPerSecond.toFixed(0)} changes/s, lag p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, max ${run.maxMs} ms`);
  }
}
