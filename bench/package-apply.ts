// Applying replication packages on a publish (issue 23): users joining one group, in packages of
// 500 as an agent sends them, until the group has 1,000, 10,000 and 100,000 members; and one
// user item with 10,000 groups. Linear cost means the same items per second at every size. The
// receiver runs in this process on fresh SQLite homes. A timer firing every millisecond measures
// the longest the event loop was held between two turns: in wall time (what a load balancer's
// liveness check feels, stretched by whatever else the machine runs) and in this process's CPU
// time (the work done in that stretch, which other processes' load does not stretch).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openServices } from '../src/instance/index.js';
import { createReceiver, PACKAGE_ITEMS, parsePackage, type ReplicationPackage } from '../src/replication/index.js';
import { createArgon2Hasher } from '../src/users/index.js';
import { systemClock } from '../src/clock.js';

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

/**
 * Applies each lane's segments in order on a fresh home of its own, the lanes' packages taken in
 * turn (one of each lane, then the next), so that every lane meets the same moments of the
 * machine's load; measures each segment of each lane apart. The first segment of each lane is a
 * warm-up, not returned. The event loop's longest hold is that of the stretch, all lanes together.
 */
async function applyLanes(lanes: ReadonlyArray<readonly Segment[]>): Promise<ApplyRun[][]> {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-apply-'));
  const homes = await Promise.all(
    lanes.map((_, index) => openServices({ home: join(dir, `home-${index}`), create: true, hasher: createArgon2Hasher({ memoryCost: 1024, timeCost: 1 }), clock: systemClock })),
  );
  try {
    const receivers = homes.map((services) => createReceiver({ repo: services.repo, clock: services.clock }));
    const runs: ApplyRun[][] = lanes.map(() => []);
    for (let segment = 0; segment < lanes[0]!.length; segment++) {
      const spent = lanes.map(() => ({ wallNs: 0n, cpuUs: 0 }));
      const probe = loopProbe();
      const longest = Math.max(...lanes.map((lane) => lane[segment]!.packages.length));
      for (let index = 0; index < longest; index++) {
        for (const [lane, segments] of lanes.entries()) {
          const pkg = segments[segment]!.packages[index];
          if (!pkg) continue;
          const start = process.hrtime.bigint();
          const cpuStart = process.cpuUsage();
          const result = await receivers[lane]!.receive(pkg);
          const cpu = process.cpuUsage(cpuStart);
          spent[lane]!.wallNs += process.hrtime.bigint() - start;
          spent[lane]!.cpuUs += cpu.user + cpu.system;
          if (result.outcome !== 'applied') throw new Error(`package ${pkg.sequence} of ${pkg.source}: ${result.outcome}`);
        }
      }
      const { maxWallMs, maxCpuMs } = probe.stop();
      for (const [lane, segments] of lanes.entries()) {
        const { name, packages, memberships } = segments[segment]!;
        const seconds = Number(spent[lane]!.wallNs) / 1e9;
        const items = packages.reduce((sum, pkg) => sum + pkg.items.length, 0);
        const itemsPerCpuSecond = items / (spent[lane]!.cpuUs / 1e6);
        runs[lane]!.push({ name, items, seconds, itemsPerSecond: items / seconds, itemsPerCpuSecond, membershipsPerSecond: memberships / seconds, maxLoopWallMs: maxWallMs, maxLoopCpuMs: maxCpuMs });
      }
    }
    return runs.map((lane) => lane.slice(1));
  } finally {
    for (const services of homes) await services.close();
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
 * Each on a fresh home, after a warm-up of 3,000 users (so the JIT and SQLite's caches and WAL
 * are past their start): one group filled to 1,000, 10,000 and 100,000 members, each stretch
 * measured apart; beside it, package for package, the same users with every package's users in
 * a group of their own, so the repository grows alike but no group does (the control: the rate
 * the repository's size alone allows); then a user item with `wideGroups` groups.
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
  log(`one group filled to ${sizes.map((size) => size.toLocaleString('en')).join(', ')} members; beside it, the same users with each package in a group of its own`);
  const [oneGroup, spread] = (await applyLanes([stretches(() => 'big'), stretches((index) => `group-${index}`)])) as [ApplyRun[], ApplyRun[]];
  log(`one user in ${wideGroups.toLocaleString('en')} groups`);
  const groups = Array.from({ length: wideGroups }, (_, index) => `group-${index}`);
  const wide = parsePackage({ format: 1, source: 'bench', sequence: 1, items: [{ type: 'user', id: 'wide', state: { disabled: false, generation: 0, groups } }] });
  const [wideUser] = (await applyLanes([[warmUp(), { name: `one user item, ${wideGroups.toLocaleString('en')} groups`, packages: [wide], memberships: wideGroups }]]))[0]!;
  return { oneGroup, spread, wideUser: wideUser! };
}
