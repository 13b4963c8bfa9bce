// A farm figure: requests per second through HAProxy to 1, 2 and 3 publishes, each `capsule start`
// in its own home with the same keys (a bundle exported from the first, imported into the others)
// and the same reader created in each home directly; an encapsulated token from one is sent to all.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, freePort, interleaved, login, MEMBERS_PAGE, seedContent, startCapsule, stopChild, type HttpRun } from './http.js';
import { LOAD_CPU, PINNED } from './pinning.js';

export interface FarmResults {
  readonly direct: HttpRun;
  /** Index 0: one publish behind HAProxy, 1: two, 2: three. */
  readonly balanced: readonly HttpRun[];
  /** Which publishes answered 30 requests in a row through HAProxy, with three behind it. */
  readonly spread: Readonly<Record<string, number>>;
}

function haproxyConfig(port: number, publishes: readonly string[]): string {
  return [
    'global',
    '  maxconn 4096',
    '  nbthread 1',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 30s',
    '  timeout server 30s',
    'frontend capsule',
    `  bind 127.0.0.1:${port}`,
    '  default_backend publishes',
    'backend publishes',
    '  balance roundrobin',
    '  http-reuse always',
    ...publishes.map((url, i) => `  server publish${i + 1} ${new URL(url).host}`),
    '',
  ].join('\n');
}

async function startHaproxy(dir: string, publishes: readonly string[]): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const file = join(dir, `haproxy-${publishes.length}.cfg`);
  writeFileSync(file, haproxyConfig(port, publishes));
  // On the load generator's core: the publishes keep the other one to themselves.
  const child = spawn(PINNED ? 'taskset' : 'haproxy', [...(PINNED ? ['-c', String(LOAD_CPU), 'haproxy'] : []), '-db', '-f', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !(await fetch(`${url}/system/health`).then(() => true, () => false)); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return { url, child };
}

export async function benchmarkFarm(log: (line: string) => void, durationSeconds = 5, connections = 32, rounds = 2): Promise<FarmResults> {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-farm-'));
  const publishes: Array<{ url: string; child: ChildProcess; home: string }> = [];
  const balancers: ChildProcess[] = [];
  try {
    for (let i = 1; i <= 3; i++) {
      const home = join(dir, `publish${i}`);
      publishes.push({ home, ...(await startCapsule(home)) });
    }
    const env = { ...process.env, CAPSULE_KEYS_PASSPHRASE: 'bench-passphrase' };
    const bundle = join(dir, 'keys.bundle');
    cli(publishes[0]!.home, ['keys', 'export', '--out', bundle], undefined, env);
    for (const publish of publishes) {
      if (publish !== publishes[0]) cli(publish.home, ['keys', 'import', '--in', bundle, '--force'], undefined, env);
      seedContent(publish.home);
      cli(publish.home, ['config', 'set', 'capsule.auth.token', 'token.encapsulated=true']);
    }
    let token = '';
    for (let i = 0; i < 50 && !token.includes('.'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      token = await login(publishes[0]!.url);
    }
    // Every publish must accept the token (same keys, same user) before anything is measured.
    for (const publish of publishes) {
      for (let i = 0; ; i++) {
        const status = (await fetch(`${publish.url}${MEMBERS_PAGE}.json`, { headers: { cookie: `login-token=${token}` } })).status;
        if (status === 200) break;
        if (i > 50) throw new Error(`${publish.url} refuses the farm's token (${status})`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const lbs = [];
    for (let n = 1; n <= 3; n++) {
      const lb = await startHaproxy(dir, publishes.slice(0, n).map((publish) => publish.url));
      balancers.push(lb.child);
      lbs.push(lb);
    }
    const spread: Record<string, number> = {};
    for (let i = 0; i < 30; i++) {
      const response = await fetch(`${lbs[2]!.url}${MEMBERS_PAGE}.json`, { headers: { cookie: `login-token=${token}` } });
      const name = response.headers.get('x-capsule-instance') ?? 'none';
      spread[name] = (spread[name] ?? 0) + 1;
      await response.arrayBuffer();
    }
    log(`3 publishes on one core, HAProxy and autocannon on the other; ${connections} connections, ${rounds} interleaved rounds of ${durationSeconds} s`);
    const plans = [
      { name: 'direct to publish 1, no load balancer', url: `${publishes[0]!.url}${MEMBERS_PAGE}.json`, cookie: token, pid: publishes[0]!.child.pid! },
      ...lbs.map((lb, i) => ({ name: `HAProxy → ${i + 1} publish${i === 0 ? '' : 'es'}`, url: `${lb.url}${MEMBERS_PAGE}.json`, cookie: token, pid: publishes[0]!.child.pid! })),
    ];
    const runs = await interleaved(plans, rounds, durationSeconds, connections);
    return { direct: runs[0]!, balanced: runs.slice(1), spread };
  } finally {
    for (const child of balancers) await stopChild(child);
    for (const publish of publishes) await stopChild(publish.child);
    rmSync(dir, { recursive: true, force: true });
  }
}
