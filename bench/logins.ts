// Logins per second on one core with the argon2id parameters Capsule uses (the bench process
// is pinned to one core, so the libuv threads that hash share it), beside what OWASP recommends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTokenHandler } from '../src/auth/index.js';
import { openServices, silentLogger } from '../src/instance/index.js';
import { createArgon2Hasher } from '../src/users/index.js';
import { measureAsync } from './measure.js';
import { systemClock } from '../src/clock.js';
import { memorySessionRegistry } from '../test/helpers/memory-session-registry.js';

export interface LoginResults {
  /** Full form logins (password check, throttle, token issued) per second, 4 in flight. */
  readonly loginsPerSecond: number;
  /** One argon2id verification alone, in ms (one at a time). */
  readonly verifyMs: number;
}

export async function benchmarkLogins(log: (line: string) => void): Promise<LoginResults> {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-logins-'));
  const hasher = createArgon2Hasher(); // the defaults: m = 19,456 KiB, t = 2, p = 1
  const services = await openServices({ home: join(dir, 'home'), create: true, keys: 'prepare', hasher, clock: systemClock });
  try {
    log('argon2id m=19456 KiB t=2 p=1 (the defaults)');
    const users = 64;
    for (let u = 0; u < users; u++) await services.users.createUser(`user${u}`, { password: `bench-password-${u}` });
    const stored = await services.users.getUser('user0');
    if (!stored) throw new Error('no user');
    const handler = createTokenHandler({ sessions: memorySessionRegistry(), ...services, logger: silentLogger(), audit: silentLogger() });
    const encoded = await hasher.hash('bench-password-0');
    let verifyMs = Infinity;
    for (let round = 0; round < 3; round++) verifyMs = Math.min(verifyMs, 1000 / (await measureAsync(() => hasher.verify(encoded, 'bench-password-0'), 1500, 1)));
    let loginsPerSecond = 0;
    for (let round = 0; round < 3; round++) {
      const rate = await measureAsync(async (i) => {
        const u = i % users;
        const result = await handler.login(`user${u}`, `bench-password-${u}`, `127.0.0.${1 + (u % 200)}`);
        if (!result.ok) throw new Error('login failed');
      }, 2000, 4);
      loginsPerSecond = Math.max(loginsPerSecond, rate);
    }
    return { loginsPerSecond, verifyMs };
  } finally {
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
