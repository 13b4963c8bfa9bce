// A new publish backfilled by replication: an author with N users (SQLite), a fresh publish,
// each `capsule start` in its own process on loopback (not pinned: two processes that would be
// two machines). Measured: the time from the author's start (its agent begins the snapshot at
// once) to the agent having delivered the whole snapshot, a sample of users compared on both,
// both processes' peak RSS (VmHWM), and the publish's request latency while it applies.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openServices } from '../src/instance/index.js';
import { readAgentState } from '../src/replication/index.js';
import { createArgon2Hasher, findUserNode, readReplicatedUser } from '../src/users/index.js';
import { systemClock } from '../src/clock.js';
import { seededUserId, seedUsers } from '../test/helpers/seed-users.js';
import { cli, startOnAddress, stopChild } from './http.js';
import { percentile } from './measure.js';

const ADMIN = 'bench-admin-password'; // what startOnAddress gives the admin
/** A million-user home's start reads more than a small one's. */
const START_WAIT_MS = 120_000;
const GROUPS = 20;
const SAMPLE = 200;
/**
 * Each of the two probing clients sends a request every this many ms (100 requests a second in
 * all): fifty times what a load balancer's check sends (HAProxy's `inter` is 2 s), enough for a
 * latency distribution, and not a load test of its own that takes the publish's CPU from the
 * backfill (back to back, they answered 250,000 requests during the million-user run).
 */
const PROBE_INTERVAL_MS = 20;
const LOCAL_GROUPS = ['administrators', 'replication-receivers'];

export interface BackfillRun {
  readonly users: number;
  readonly seedSeconds: number;
  readonly backfillSeconds: number;
  readonly usersPerSecond: number;
  readonly packages: number;
  readonly sampleMatched: number;
  readonly sampleSize: number;
  readonly publishUsers: number;
  readonly authorPeakRssMiB: number;
  readonly publishPeakRssMiB: number;
  /**
   * The largest anonymous resident memory seen (RssAnon, sampled every 100 ms): the process's own
   * heap and buffers, without the repository file's pages that SQLite maps (mmap) and that the
   * kernel counts in the RSS as they are read (they grow with the repository, not the snapshot).
   */
  readonly authorPeakAnonMiB: number;
  readonly publishPeakAnonMiB: number;
  /** CPU time (user + system) each process spent from the author's start to the end: what the load of the machine does not change. */
  readonly authorCpuSeconds: number;
  readonly publishCpuSeconds: number;
  /** Requests to the publish during the backfill: readiness and a signed-in session check, in turn. */
  readonly requests: number;
  readonly notOk: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** A line of /proc/PID/status in MiB: VmHWM (peak resident set), RssAnon (anonymous resident memory now). */
function statusMiB(pid: number, field: 'VmHWM' | 'RssAnon'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** User + system CPU time of a process so far, in seconds (/proc/PID/stat fields 14 and 15, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function signIn(url: string): Promise<string> {
  const response = await fetch(`${url}/j_security_check`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ j_username: 'admin', j_password: ADMIN }),
  });
  await response.arrayBuffer();
  return /^login-token=([^;]+)/.exec(response.headers.getSetCookie()[0] ?? '')?.[1] ?? '';
}

export async function benchmarkBackfill(log: (line: string) => void, users: number): Promise<BackfillRun> {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-backfill-'));
  const children: ChildProcess[] = [];
  try {
    const authorHome = join(dir, 'author');
    const publishHome = join(dir, 'publish');
    // Made by a first start (keys, admin), then filled while it is stopped.
    await stopChild((await startOnAddress(authorHome, '127.0.0.1', START_WAIT_MS)).child);
    log(`${users.toLocaleString('en')} users on the author (written through the repository, one precomputed password hash)`);
    const seedStart = performance.now();
    const seeding = await openServices({ home: authorHome, clock: systemClock });
    const passwordHash = await createArgon2Hasher().hash('bench-user-password');
    await seedUsers(seeding.repo, { count: users, groups: GROUPS, passwordHash, batch: 25_000 });
    await seeding.close();
    const seedSeconds = (performance.now() - seedStart) / 1000;

    const publish = await startOnAddress(publishHome, '127.0.0.2', START_WAIT_MS);
    children.push(publish.child);
    cli(publishHome, ['users', 'add', 'replicator', '--password-stdin', '--group', 'replication-receivers'], 'transport-pw\n');
    cli(authorHome, ['replication', 'add-agent', 'publish', '--url', publish.url, '--transport-user', 'replicator', '--transport-password-stdin', '--retry-delay', '1'], 'transport-pw\n');
    const token = await signIn(publish.url);

    // The publish's latency while it applies: readiness (what a load balancer asks) and a
    // signed-in session check (a repository read), two clients, each paced (PROBE_INTERVAL_MS).
    const latencies: number[] = [];
    let notOk = 0;
    let probing = true;
    const probe = async (path: string, headers: Record<string, string>) => {
      while (probing) {
        const start = performance.now();
        const response = await fetch(`${publish.url}${path}`, { headers }).catch(() => null);
        await response?.arrayBuffer();
        const took = performance.now() - start;
        latencies.push(took);
        if (response?.status !== 200) notOk++;
        if (took < PROBE_INTERVAL_MS) await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS - took));
      }
    };
    const probes = [probe('/system/health/ready', {}), probe('/api/session', { 'login-token': token })];

    log('author started: backfilling');
    const start = performance.now();
    const publishCpuBefore = cpuSeconds(publish.child.pid!);
    const author = await startOnAddress(authorHome, '127.0.0.1', START_WAIT_MS);
    children.push(author.child);
    const watcher = await openServices({ home: authorHome, clock: systemClock });
    let packages = 0;
    let authorPeakAnonMiB = 0;
    let publishPeakAnonMiB = 0;
    try {
      for (let polls = 0; ; polls++) {
        authorPeakAnonMiB = Math.max(authorPeakAnonMiB, statusMiB(author.child.pid!, 'RssAnon'));
        publishPeakAnonMiB = Math.max(publishPeakAnonMiB, statusMiB(publish.child.pid!, 'RssAnon'));
        const state = await readAgentState(watcher.repo, 'publish');
        if (state && !state.snapshotPending && state.lastDeliveredSequence > 0) {
          packages = state.lastDeliveredSequence;
          break;
        }
        if (polls % 100 === 0 && state) log(`  ${state.snapshotSent.toLocaleString('en')} of ${(state.snapshotTotal ?? 0).toLocaleString('en')} items after ${((performance.now() - start) / 1000).toFixed(0)} s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      probing = false;
      await Promise.all(probes);
    }
    const backfillSeconds = (performance.now() - start) / 1000;
    const authorCpuSeconds = cpuSeconds(author.child.pid!);
    const publishCpuSeconds = cpuSeconds(publish.child.pid!) - publishCpuBefore;
    const authorPeakRssMiB = statusMiB(author.child.pid!, 'VmHWM');
    const publishPeakRssMiB = statusMiB(publish.child.pid!, 'VmHWM');

    const onPublish = await openServices({ home: publishHome, clock: systemClock });
    let sampleMatched = 0;
    let publishUsers = 0;
    try {
      publishUsers = (await onPublish.repo.countByType('capsule:User')) - 2; // its admin and replicator
      for (let i = 0; i < SAMPLE; i++) {
        const id = seededUserId(Math.floor((i / SAMPLE) * users));
        const [here, there] = [await findUserNode(watcher.repo, id), await findUserNode(onPublish.repo, id)];
        if (!here || !there) continue;
        const same = JSON.stringify(await readReplicatedUser(watcher.repo, here, { localGroups: LOCAL_GROUPS })) === JSON.stringify(await readReplicatedUser(onPublish.repo, there, { localGroups: LOCAL_GROUPS }));
        if (same) sampleMatched++;
      }
    } finally {
      await onPublish.close();
      await watcher.close();
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      users,
      seedSeconds,
      backfillSeconds,
      usersPerSecond: users / backfillSeconds,
      packages,
      sampleMatched,
      sampleSize: SAMPLE,
      publishUsers,
      authorPeakRssMiB,
      publishPeakRssMiB,
      authorPeakAnonMiB,
      publishPeakAnonMiB,
      authorCpuSeconds,
      publishCpuSeconds,
      requests: latencies.length,
      notOk,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: percentile(sorted, 100),
    };
  } finally {
    for (const child of children) await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}
