// A seeded instance for profiling by hand (perf, strace): `tsx bench/serve-once.ts [build dir]`
// starts `capsule start` from this checkout or a copy of its bin/ and dist/ on the server core,
// prints its URL, pid and a stateful and an encapsulated token (and writes them to BENCH_INFO),
// and stops on SIGINT or SIGTERM.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, seedAndLogInBothKinds, stopChild, waitUntilUp } from './http.js';
import { SERVER_CPU, spawnNodeOn } from './pinning.js';

const dir = mkdtempSync(join(tmpdir(), 'capsule-serve-once-'));
const home = join(dir, 'home');
const bin = process.argv[2] ? join(resolve(process.argv[2]), 'bin', 'capsule') : new URL('../bin/capsule', import.meta.url).pathname;
const port = await freePort();
const child = spawnNodeOn(SERVER_CPU, [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), bin, 'start', '--home', home, '--port', String(port)], {
  env: { ...process.env, CAPSULE_ADMIN_PASSWORD: 'bench-admin-password', CAPSULE_LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const url = `http://127.0.0.1:${port}`;
await waitUntilUp(url, child);
const { stateful, encapsulated } = await seedAndLogInBothKinds(url, home);
const info = { url, pid: child.pid, home, stateful, encapsulated };
if (process.env.BENCH_INFO) writeFileSync(process.env.BENCH_INFO, JSON.stringify(info));
console.log(JSON.stringify(info));
const stop = () => void stopChild(child).then(() => rmSync(dir, { recursive: true, force: true }));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
