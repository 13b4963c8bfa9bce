// Password logins per second per core at the hasher's own parameters (read back from a hash it
// made, not assumed): full logins in process (user read, argon2id check, throttle, session,
// stateful token), one at a time on one core, then on every core with as many in flight as there
// are cores (argon2 runs on libuv's thread pool, one hash per thread).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTokenHandler } from '../src/auth/index.js';
import { systemClock } from '../src/clock.js';
import { openServices, silentLogger } from '../src/instance/index.js';
import { createArgon2Hasher } from '../src/users/index.js';
import { memorySessionRegistry } from '../test/helpers/memory-session-registry.js';
import { ALL_CPUS, LOAD_CPU, pin, PINNED } from './pinning.js';
import { BENCH_PASSWORD, benchUserId, writeBenchUsers } from './user-home.js';

const USERS = 1000;
const ROUNDS = 3;
const ROUND_MS = 3000;

export interface LoginRate {
  /** Logins per second of wall time (best round). */
  readonly perSecond: number;
  /** This process's CPU time (every thread) per login in that round, ms. */
  readonly cpuMs: number;
  readonly inFlight: number;
  readonly cpus: string;
}

export interface LoginsPerCoreResults {
  /** The parameters in the encoded hash the hasher made: `m=19456,t=2,p=1`. */
  readonly parameters: string;
  readonly oneCore: LoginRate;
  readonly allCores: LoginRate;
  readonly cores: number;
  readonly pinned: boolean;
}

async function rate(login: (i: number) => Promise<void>, inFlight: number, cpusLabel: string): Promise<LoginRate> {
  let best: LoginRate = { perSecond: 0, cpuMs: NaN, inFlight, cpus: cpusLabel };
  let next = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const deadline = started + BigInt(ROUND_MS) * 1_000_000n;
    let count = 0;
    const lane = async () => {
      while (process.hrtime.bigint() < deadline) {
        await login(next++);
        count++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    const perSecond = count / seconds;
    if (perSecond > best.perSecond) best = { perSecond, cpuMs: (cpu.user + cpu.system) / 1000 / count, inFlight, cpus: cpusLabel };
  }
  return best;
}

export async function benchmarkLoginsPerCore(log: (line: string) => void): Promise<LoginsPerCoreResults> {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-logins-core-'));
  const hasher = createArgon2Hasher(); // Capsule's defaults, as an instance uses them
  const services = await openServices({ home: join(dir, 'home'), create: true, keys: 'prepare', hasher, clock: systemClock, onWarning: () => undefined });
  try {
    const encoded = await hasher.hash(BENCH_PASSWORD);
    const parameters = /\$argon2id\$v=\d+\$([^$]+)\$/.exec(encoded)?.[1] ?? `not argon2id: ${encoded.split('$')[1]}`;
    await writeBenchUsers(services.repo, USERS, encoded);
    const handler = createTokenHandler({ sessions: memorySessionRegistry(), ...services, logger: silentLogger(), audit: silentLogger() });
    const login = async (i: number) => {
      const result = await handler.login(benchUserId(1 + (i % USERS)), BENCH_PASSWORD, `127.0.${(i >> 8) & 255}.${i & 255}`);
      if (!result.ok) throw new Error('login failed');
    };
    await rate(login, 1, String(LOAD_CPU)); // warm-up
    log(`full logins in process, one at a time, pinned to CPU ${LOAD_CPU}`);
    const oneCore = await rate(login, 1, String(LOAD_CPU));
    const cores = cpus().length;
    log(`full logins in process, ${cores} in flight, on CPUs ${ALL_CPUS}`);
    pin(process.pid, ALL_CPUS);
    let allCores: LoginRate;
    try {
      allCores = await rate(login, cores, ALL_CPUS);
    } finally {
      pin(process.pid, LOAD_CPU);
    }
    return { parameters, oneCore, allCores, cores, pinned: PINNED };
  } finally {
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
