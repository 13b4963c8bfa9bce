import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import autocannon from 'autocannon';

export const BIN = fileURLToPath(new URL('../bin/capsule', import.meta.url));

export interface HttpRun {
  readonly name: string;
  readonly requestsPerSecond: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly non2xx: number;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export function cli(home: string, args: string[], stdin?: string, env: NodeJS.ProcessEnv = process.env): void {
  execFileSync(process.execPath, [BIN, ...args, '--home', home], { input: stdin ?? '', stdio: ['pipe', 'ignore', 'inherit'], env });
}

export async function login(url: string): Promise<string> {
  const response = await fetch(`${url}/j_security_check`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ j_username: 'reader', j_password: 'reader-password' }),
  });
  const cookie = response.headers.getSetCookie()[0] ?? '';
  return /^login-token=([^;]+)/.exec(cookie)?.[1] ?? '';
}

export async function run(name: string, url: string, durationSeconds: number, connections: number, cookie?: string): Promise<HttpRun> {
  const result = await autocannon({ url, connections, duration: durationSeconds, headers: cookie ? { cookie: `login-token=${cookie}` } : {} });
  return { name, requestsPerSecond: result.requests.average, p99Ms: result.latency.p99, errors: result.errors, non2xx: result.non2xx };
}

export async function benchmarkHttp(log: (line: string) => void, durationSeconds = 4, connections = 32, rounds = 3): Promise<HttpRun[]> {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-http-'));
  const home = join(dir, 'home');
  const port = await freePort();
  const server = spawn(process.execPath, [BIN, 'start', '--home', home, '--port', String(port)], {
    env: { ...process.env, CAPSULE_ADMIN_PASSWORD: 'bench-admin', CAPSULE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; i < 100; i++) {
      if (await fetch(`${url}/system/health`).then(() => true, () => false)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    cli(home, ['content', 'put', '/content/public', '--json', '{"title":"Public page","body":"Hello"}']);
    cli(home, ['content', 'put', '/content/members', '--json', '{"title":"Members page","body":"Hello","allowedGroups":["members"]}']);
    cli(home, ['groups', 'add', 'members']);
    cli(home, ['users', 'add', 'reader', '--password-stdin', '--group', 'members'], 'reader-password');
    const stateful = await login(url);
    cli(home, ['config', 'set', 'capsule.auth.token', 'token.encapsulated=true']);
    let encapsulated = '';
    for (let i = 0; i < 50 && !encapsulated.includes('.'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      encapsulated = await login(url);
    }
    log(`server on ${url}; ${connections} connections, ${rounds} interleaved rounds of ${durationSeconds} s per run, best round kept`);
    await run('warm-up', `${url}/content/public.json`, 2, connections);
    const plans: Array<[string, string, string | undefined]> = [
      ['anonymous GET /content/public.json', `${url}/content/public.json`, undefined],
      ['encapsulated token GET /content/members.json', `${url}/content/members.json`, encapsulated],
      ['stateful token GET /content/members.json', `${url}/content/members.json`, stateful],
    ];
    const best = new Map<string, HttpRun>();
    for (let round = 0; round < rounds; round++) {
      for (const [name, target, cookie] of plans) {
        const result = await run(name, target, durationSeconds, connections, cookie);
        if ((best.get(name)?.requestsPerSecond ?? 0) < result.requestsPerSecond) best.set(name, result);
      }
    }
    return plans.map(([name]) => best.get(name)!);
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}
