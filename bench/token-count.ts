// Stateful throughput against how many tokens exist: the same check on a repository holding
// 1,000 tokens and on one holding 1,000,000, the big one written in bulk (one transaction).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTokenHandler, TOKEN_TYPE, TOKENS_FOLDER } from '../src/auth/index.js';
import { openServices, silentLogger, type Services } from '../src/instance/index.js';
import { createArgon2Hasher, type User } from '../src/users/index.js';
import { compare, measureAsync } from './measure.js';
import { startCapsule, stopChild } from './http.js';
import autocannon from 'autocannon';
import { systemClock } from '../src/clock.js';
import { memorySessionRegistry } from '../test/helpers/memory-session-registry.js';

const USERS = 1000;
const SAMPLE = 100_000;
const LIFETIME_MS = 43_200_000;

export interface TokenCountResults {
  readonly small: number;
  readonly large: number;
  /** Token checks per second in process, the same 1,000 distinct tokens in use on each home. */
  readonly smallRate: number;
  readonly largeRate: number;
  /** The large home with `SAMPLE` distinct tokens in use: a working set a hundred times larger. */
  readonly largeWideRate: number;
  readonly wideTokens: number;
  readonly bulkSeconds: number;
  readonly bulkPerSecond: number;
  readonly sizeMiB: number;
  /** Requests per second of GET /api/session through HTTP, a capsule start on each home, the same number of distinct tokens (all the small home's). */
  readonly smallHttp: number;
  readonly largeHttp: number;
  /** The large home with `httpTokens` distinct tokens, more than the server keeps validated: every request reads the repository. */
  readonly largeMissHttp: number;
  readonly httpTokens: number;
  /** Non-2xx answers and errors in the measured HTTP runs. */
  readonly httpFailed: number;
}

const HTTP_TOKENS = 20_000;

async function httpRun(url: string, tokens: readonly string[], durationSeconds: number): Promise<{ rate: number; failed: number }> {
  // GET /api/session: a route that needs the session and reads nothing else.
  const requests = tokens.map((token) => ({ method: 'GET' as const, path: '/api/session', headers: { cookie: `login-token=${token}` } }));
  const result = await autocannon({ url, connections: 32, duration: durationSeconds, requests });
  return { rate: result.requests.average, failed: result.non2xx + result.errors };
}

async function createUsers(services: Services): Promise<User[]> {
  const users = [];
  for (let u = 0; u < USERS; u++) users.push(await services.users.createUser(`user${u}`, { password: 'bench-password' }));
  return users;
}

/** `perUser` tokens for each user, in one transaction; returns a sample of them (cookie values), shuffled. */
async function storeTokens(services: Services, users: User[], perUser: number): Promise<string[]> {
  const keepEvery = Math.max(1, Math.floor((USERS * perUser) / SAMPLE));
  const sample: string[] = [];
  const now = Date.now();
  // Ids sorted, and handed out to users in path order: every index (id, path, parent) is then
  // appended to instead of written at random places, which is what keeps a million inserts fast.
  const ids = Array.from({ length: USERS * perUser }, () => randomUUID()).sort();
  users.sort((a, b) => (a.path < b.path ? -1 : 1));
  let n = 0;
  // What the token store writes for each login, written straight as nodes: one prepared insert each.
  await services.repo.transaction(async (tx) => {
    for (const user of users) {
      const folder = `${user.path}/${TOKENS_FOLDER}`;
      await tx.addNode(folder);
      for (let t = 0; t < perUser; t++) {
        const id = ids[n]!;
        const secret = randomBytes(32).toString('base64url');
        const tokenHash = createHash('sha256').update(secret).update(user.id).digest('hex');
        await tx.putNode({
          id,
          path: `${folder}/${id}`,
          type: TOKEN_TYPE,
          properties: { tokenUser: user.id, tokenHash, createdAt: new Date(now), expiresAt: new Date(now + LIFETIME_MS) },
          created: new Date(now),
          modified: new Date(now),
        });
        if (n++ % keepEvery === 0) sample.push(`${id}_${secret}`);
      }
    }
  });
  // Visit them out of insertion order, so that each check lands somewhere else in the table.
  for (let i = sample.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [sample[i], sample[j]] = [sample[j]!, sample[i]!];
  }
  return sample;
}

export async function benchmarkTokenCount(log: (line: string) => void, large = 1_000_000): Promise<TokenCountResults> {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-count-'));
  const hasher = createArgon2Hasher({ memoryCost: 1024, timeCost: 1 });
  let small = await openServices({ home: join(dir, 'small'), create: true, keys: 'prepare', hasher, clock: systemClock });
  let big = await openServices({ home: join(dir, 'large'), create: true, keys: 'prepare', hasher, clock: systemClock });
  try {
    log(`storing ${USERS.toLocaleString('en')} stateful tokens (${USERS} users × 1)`);
    const smallTokens = await storeTokens(small, await createUsers(small), 1);
    const users = await createUsers(big);
    log(`storing ${large.toLocaleString('en')} stateful tokens in bulk (${USERS} users × ${large / USERS}, one transaction)`);
    const started = process.hrtime.bigint();
    const largeTokens = await storeTokens(big, users, large / USERS);
    const bulkSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    // Closed and opened again, as a server restarted on this home would find it: the bulk
    // transaction's write-ahead log is checkpointed into the database file on close.
    await small.close();
    await big.close();
    small = await openServices({ home: join(dir, 'small'), keys: 'prepare', hasher, clock: systemClock });
    big = await openServices({ home: join(dir, 'large'), keys: 'prepare', hasher, clock: systemClock });
    const { sizeBytes, nodeCount } = await big.repo.info();
    log(`${(nodeCount ?? 0).toLocaleString('en')} nodes, ${(sizeBytes / 2 ** 20).toFixed(0)} MiB, written in ${bulkSeconds.toFixed(1)} s`);
    // Without the cache of validated tokens: this figure is the repository read that a token not
    // in the cache costs (the first request of a session, or any after a logout emptied the cache).
    const handler = (services: Services) => createTokenHandler({ sessions: memorySessionRegistry(), ...services, logger: silentLogger(), audit: silentLogger(), userCacheTtlMs: 3_600_000, validatedTokenCache: false });
    const smallHandler = handler(small);
    const largeHandler = handler(big);
    // Each check takes the next token, across calls: a measurement of 500 ms touches only a part
    // of 100,000 tokens, and every round should touch another part.
    const check = (h: ReturnType<typeof handler>, tokens: string[]) => {
      let next = 0;
      return async () => {
        if (!(await h.authenticateToken(tokens[next++ % tokens.length]!))) throw new Error('authentication failed');
      };
    };
    // Every user cached first, as on a busy server: what is left is the token read itself.
    // Both homes serve the same number of distinct tokens (the large home's spread over its whole
    // table), so that only the number stored differs; then the large home with a hundred times
    // more in use (BENCHMARKS.md, section 2).
    const largeHot = largeTokens.slice(0, smallTokens.length);
    const warmSmall = check(smallHandler, smallTokens);
    for (let i = 0; i < smallTokens.length; i++) await warmSmall();
    const warmLarge = check(largeHandler, largeTokens);
    for (let i = 0; i < largeTokens.length; i++) await warmLarge();
    const smallCheck = check(smallHandler, smallTokens);
    const largeCheck = check(largeHandler, largeHot);
    const wideCheck = check(largeHandler, largeTokens);
    const rates = await compare([
      { name: 'small', run: () => measureAsync(smallCheck, 500, 32) },
      { name: 'large', run: () => measureAsync(largeCheck, 500, 32) },
      { name: 'wide', run: () => measureAsync(wideCheck, 500, 32) },
    ]);
    await small.close();
    await big.close();
    // Over HTTP the same pairing, then the large home with more distinct tokens than the server
    // keeps validated.
    const largeMiss = largeTokens.slice(0, HTTP_TOKENS);
    log(`HTTP: capsule start on each home; autocannon cycles through ${smallTokens.length.toLocaleString('en')} tokens of each, then ${largeMiss.length.toLocaleString('en')} of the large one`);
    const servers = [await startCapsule(join(dir, 'small')), await startCapsule(join(dir, 'large'))] as const;
    let smallHttp = 0;
    let largeHttp = 0;
    let largeMissHttp = 0;
    let httpFailed = 0;
    try {
      await httpRun(servers[0].url, smallTokens, 2);
      await httpRun(servers[1].url, largeHot, 2);
      for (let round = 0; round < 3; round++) {
        const smallRun = await httpRun(servers[0].url, smallTokens, 4);
        const largeRun = await httpRun(servers[1].url, largeHot, 4);
        const missRun = await httpRun(servers[1].url, largeMiss, 4);
        smallHttp = Math.max(smallHttp, smallRun.rate);
        largeHttp = Math.max(largeHttp, largeRun.rate);
        largeMissHttp = Math.max(largeMissHttp, missRun.rate);
        httpFailed += smallRun.failed + largeRun.failed + missRun.failed;
      }
    } finally {
      for (const server of servers) await stopChild(server.child);
    }
    return {
      smallHttp,
      largeHttp,
      httpFailed,
      largeMissHttp,
      httpTokens: Math.min(HTTP_TOKENS, largeTokens.length),
      small: USERS,
      large,
      smallRate: rates.small!,
      largeRate: rates.large!,
      largeWideRate: rates.wide!,
      wideTokens: largeTokens.length,
      bulkSeconds,
      bulkPerSecond: large / bulkSeconds,
      sizeMiB: sizeBytes / 2 ** 20,
    };
  } finally {
    await small.close(); // closing twice is harmless
    await big.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
