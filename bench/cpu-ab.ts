// Server CPU per request, one build against another: `tsx bench/cpu-ab.ts BUILD_DIR BUILD_DIR…`
// (copies of bin/ and dist/ beside a node_modules link). Each build's `capsule start` runs pinned
// like `npm run bench`; every round runs each one for S seconds (default 2), R rounds (default 8),
// load L (anonymous, encapsulated or stateful). It prints each build's CPU per request as a ratio
// to the first build's in the same round, and the median of those ratios: on a shared machine
// single rounds swing by ±30%, rounds next to each other far less.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { MEMBERS_PAGE, PUBLIC_PAGE, run, seedAndLogInBothKinds, startCapsule, stopChild } from './http.js';
import { median } from './measure.js';
import { LOAD_CPU, pin } from './pinning.js';

const builds = process.argv.slice(2).map((dir) => resolve(dir));
const rounds = Number(process.env.R ?? 8);
const seconds = Number(process.env.S ?? 2);
const load = process.env.L ?? 'anonymous';
if (builds.length === 0 || !['anonymous', 'encapsulated', 'stateful'].includes(load)) {
  console.error('usage: [L=anonymous|encapsulated|stateful] [R=rounds] [S=seconds] tsx bench/cpu-ab.ts BUILD_DIR…');
  process.exit(2);
}

pin(process.pid, LOAD_CPU);
const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-cpu-ab-'));
const servers: ChildProcess[] = [];
try {
  const plans: Array<{ name: string; url: string; cookie?: string; pid: number }> = [];
  for (const [index, build] of builds.entries()) {
    const home = join(dir, `home-${index}`);
    const { url, child: server } = await startCapsule(home, process.env, [], { bin: join(build, 'bin', 'capsule') });
    servers.push(server);
    const tokens = await seedAndLogInBothKinds(url, home);
    const cookie = load === 'anonymous' ? undefined : load === 'stateful' ? tokens.stateful : tokens.encapsulated;
    const page = `${url}${load === 'anonymous' ? PUBLIC_PAGE : MEMBERS_PAGE}.json`;
    plans.push({ name: `[${index}] ${basename(build)}`, url: page, cookie, pid: server.pid! });
    await run('warm-up', page, 1, 32, cookie);
  }
  const perRound = plans.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const [index, plan] of plans.entries()) {
      const result = await run(plan.name, plan.url, seconds, 32, plan.cookie, plan.pid);
      if (result.errors || result.non2xx) console.log(`${plan.name}: ${result.errors} errors, ${result.non2xx} non-2xx`);
      perRound[index]!.push(result.serverCpuUsPerRequest);
    }
  }
  const first = perRound[0]!;
  for (const [index, plan] of plans.entries()) {
    const values = perRound[index]!;
    const ratios = values.map((value, round) => value / first[round]!);
    console.log(
      `${plan.name.padEnd(28)} ${load}: median ${median(values).toFixed(1)} µs CPU/req, ratio to [0] ${median(ratios).toFixed(3)} (rounds: ${ratios.map((ratio) => ratio.toFixed(2)).join(' ')})`,
    );
  }
} finally {
  for (const server of servers) await stopChild(server);
  rmSync(dir, { recursive: true, force: true });
}
