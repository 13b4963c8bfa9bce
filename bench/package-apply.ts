// Applying replication packages on a publish (issue 23): users joining one group, in packages of
// 500 as an agent sends them, until the group has 1,000, 10,000 and 100,000 members; and one
// user item with 10,000 groups. Linear cost means the same items per second at every size. The
// receiver runs in this process on a fresh SQLite home. A timer firing every millisecond measures
// the longest the event loop was held between two turns: in wall time (what a load balancer's
// liveness check feels, stretched by whatever else the machine runs) and in this process's CPU
// time (the work done in that stretch, which other processes' load does not stretch).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openServices } from '../src/instance/index.js';
import { createReceiver, PACKAGE_ITEMS, parsePackage, type ReplicationPackage } from '../src/replication/index.js';
import { createArgon2Hasher } from '../src/users/index.js';

export interface ApplyRun {
  readonly name: string;
  readonly items: number;
  readonly seconds: number;
  readonly itemsPerSecond: number;
  /** Items per second of this process's CPU time: what the work costs, whatever else the machine runs. */
  readonly itemsPerCpuSecond: number;
  /** Memberships written per second (one per user joining the group; 10,000 for the wide user). */
  readonly membershipsPerSecond: number;
  /** The longest stretch between two turns of the event loop, in wall time and in this process's CPU time. */
  readonly maxLoopWallMs: number;
  readonly maxLoopCpuMs: number;
}

function loopProbe(): { stop(): { maxWallMs: number; maxCpuMs: number } } {
  let maxWallMs = 0;
  let maxCpuMs = 0;
  let lastWall = performance.now();
  let lastCpu = process.cpuUsage();
  const turn = () => {
    const wall = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    maxWallMs = Math.max(maxWallMs, wall - lastWall);
    maxCpuMs = Math.max(maxCpuMs, (cpu.user + cpu.system) / 1000);
    lastWall = wall;
    lastCpu = process.cpuUsage();
  };
  const timer = setInterval(turn, 1);
  return {
    stop() {
      clearInterval(timer);
      turn(); // the stretch since the last turn (all of it, when the work never let the loop run)
      return { maxWallMs, maxCpuMs };
    },
  };
}

interface Segment {
  readonly name: string;
  readonly packages: readonly ReplicationPackage[];
  readonly memberships: number;
}

/** Applies the segments in order on one fresh home, measuring each; the first is a warm-up, not returned. */
async function applySegments(segments: readonly Segment[]): Promise<ApplyRun[]> {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-apply-'));
  const services = await openServices({ home: join(dir, 'home'), create: true, hasher: createArgon2Hasher({ memoryCost: 1024, timeCost: 1 }) });
  try {
    const receiver = createReceiver({ repo: services.repo, clock: services.clock });
    const runs: ApplyRun[] = [];
    for (const { name, packages, memberships } of segments) {
      const probe = loopProbe();
      const start = process.hrtime.bigint();
      const cpuStart = process.cpuUsage();
      for (const pkg of packages) {
        const result = await receiver.receive(pkg);
        if (result.outcome !== 'applied') throw new Error(`package ${pkg.sequence} of ${pkg.source}: ${result.outcome}`);
      }
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const cpu = process.cpuUsage(cpuStart);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const { maxWallMs, maxCpuMs } = probe.stop();
      const items = packages.reduce((sum, pkg) => sum + pkg.items.length, 0);
      runs.push({ name, items, seconds, itemsPerSecond: items / seconds, itemsPerCpuSecond: items / cpuSeconds, membershipsPerSecond: memberships / seconds, maxLoopWallMs: maxWallMs, maxLoopCpuMs: maxCpuMs });
    }
    return runs.slice(1);
  } finally {
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Users `from`…`to - 1` in packages of 500 numbered on from `from / 500`; package n's users join `groupOf(n)`. */
function joining(source: string, groupOf: (packageIndex: number) => string, from: number, to: number): ReplicationPackage[] {
  const packages: ReplicationPackage[] = [];
  for (let first = from; first < to; first += PACKAGE_ITEMS) {
    const index = Math.floor(first / PACKAGE_ITEMS);
    const items = [];
    for (let user = first; user < Math.min(to, first + PACKAGE_ITEMS); user++) {
      items.push({ type: 'user', id: `${source}-${user}`, state: { disabled: false, generation: 0, groups: [groupOf(index)] } });
    }
    packages.push(parsePackage({ format: 1, source, sequence: index + 1, items }));
  }
  return packages;
}

export interface PackageApplyResult {
  /** One group filled stretch by stretch (to 1,000, 10,000, 100,000 members). */
  readonly oneGroup: readonly ApplyRun[];
  /** The same users and packages on a home of their own, each package's users in a group of their own (at most 500 members). */
  readonly spread: readonly ApplyRun[];
  readonly wideUser: ApplyRun;
}

const warmUp = (): Segment => ({ name: 'warm-up', packages: joining('warm-up', () => 'warm', 0, 3_000), memberships: 3_000 });

/**
 * Each measurement on a fresh home, after a warm-up of 3,000 users (so the JIT and SQLite's
 * caches and WAL are past their start): one group filled to 1,000, 10,000 and 100,000 members,
 * each stretch measured apart; the same with every package's users in a group of their own, so
 * the repository grows alike but no group grows (the control: the rate the repository's size
 * alone allows); a user item with `wideGroups` groups.
 */
export async function benchmarkPackageApply(log: (line: string) => void, sizes: readonly number[] = [1_000, 10_000, 100_000], wideGroups = 10_000): Promise<PackageApplyResult> {
  const stretches = (groupOf: (packageIndex: number) => string) => {
    const segments: Segment[] = [warmUp()];
    let from = 0;
    for (const size of sizes) {
      segments.push({ name: `${from.toLocaleString('en')} to ${size.toLocaleString('en')} users`, packages: joining('bench', groupOf, from, size), memberships: size - from });
      from = size;
    }
    return segments;
  };
  log(`one group filled to ${sizes.map((size) => size.toLocaleString('en')).join(', ')} members`);
  const oneGroup = await applySegments(stretches(() => 'big'));
  log('the same users, each package in a group of its own');
  const spread = await applySegments(stretches((index) => `group-${index}`));
  log(`one user in ${wideGroups.toLocaleString('en')} groups`);
  const groups = Array.from({ length: wideGroups }, (_, index) => `group-${index}`);
  const wide = parsePackage({ format: 1, source: 'bench', sequence: 1, items: [{ type: 'user', id: 'wide', state: { disabled: false, generation: 0, groups } }] });
  const [wideUser] = await applySegments([warmUp(), { name: `one user item, ${wideGroups.toLocaleString('en')} groups`, packages: [wide], memberships: wideGroups }]);
  return { oneGroup, spread, wideUser: wideUser! };
}
