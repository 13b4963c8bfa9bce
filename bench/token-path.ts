// The token path over HTTP, one build against another in one run: `tsx bench/token-path.ts [dir …]`
// starts `capsule start` from each build directory (a copy of bin/ and dist/ beside node_modules;
// default: this checkout) pinned like `npm run bench`, and runs anonymous, encapsulated and
// stateful loads in interleaved rounds, so a change is compared with its baseline under the same
// machine load. BENCH_CPU_PROF=dir writes each server's CPU profile there (node --cpu-prof).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interleaved, MEMBERS_PAGE, PUBLIC_PAGE, run, seedAndLogInBothKinds, startCapsule, stopChild } from './http.js';
import { LOAD_CPU, pin, SERVER_CPU } from './pinning.js';

const builds = process.argv.slice(2).length > 0 ? process.argv.slice(2).map((dir) => resolve(dir)) : [fileURLToPath(new URL('..', import.meta.url))];
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const only = process.env.BENCH_LOADS?.split(',');
const profileDir = process.env.BENCH_CPU_PROF;

pin(process.pid, LOAD_CPU);
console.log(`load average at start: ${loadavg().map((value) => value.toFixed(2)).join(' ')}`);
const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-token-path-'));
const servers: ChildProcess[] = [];
try {
  const plans: Array<{ name: string; url: string; cookie?: string; pid: number }> = [];
  for (const [index, build] of builds.entries()) {
    const home = join(dir, `home-${index}`);
    const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', resolve(profileDir), '--cpu-prof-name', `server-${index}.cpuprofile`] : [];
    const { url, child: server } = await startCapsule(home, process.env, [], { bin: join(build, 'bin', 'capsule'), nodeArgs: profile });
    servers.push(server);
    const { stateful, encapsulated } = await seedAndLogInBothKinds(url, home);
    const label = builds.length > 1 ? `[${index}] ` : '';
    const loads = [
      { load: 'anonymous', name: `${label}anonymous ${PUBLIC_PAGE}`, url: `${url}${PUBLIC_PAGE}.json`, pid: server.pid! },
      { load: 'encapsulated', name: `${label}encapsulated ${MEMBERS_PAGE}`, url: `${url}${MEMBERS_PAGE}.json`, cookie: encapsulated, pid: server.pid! },
      { load: 'stateful', name: `${label}stateful ${MEMBERS_PAGE}`, url: `${url}${MEMBERS_PAGE}.json`, cookie: stateful, pid: server.pid! },
    ].filter((plan) => !only || only.includes(plan.load));
    for (const plan of loads) await run('warm-up', plan.url, 1, 32, plan.cookie);
    plans.push(...loads);
    console.log(`${label}${build}: ${url}, pid ${server.pid}`);
  }
  const results = await interleaved(plans, rounds, seconds, 32);
  for (const result of results) {
    console.log(
      `${result.name.padEnd(44)} ${result.requestsPerSecond.toFixed(0).padStart(7)} req/s  p99 ${String(result.p99Ms).padStart(3)} ms  server ${result.serverCpuUsPerRequest.toFixed(0).padStart(4)} µs CPU/req, ${(result.serverBusy * 100).toFixed(0).padStart(3)}% busy  (errors ${result.errors}, non-2xx ${result.non2xx})`,
    );
  }
} finally {
  for (const server of servers) await stopChild(server);
  rmSync(dir, { recursive: true, force: true });
}
console.log(`load average at the end: ${loadavg().map((value) => value.toFixed(2)).join(' ')}; server CPU ${SERVER_CPU}, load CPU ${LOAD_CPU}`);
