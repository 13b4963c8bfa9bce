import { createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { jwtVerify } from 'jose';
import { sealData, unsealData } from 'iron-session';
import { createEncapsulatedVerifier, createStatefulTokenStore, createTokenHandler, issueEncapsulatedToken } from '../src/auth/index.js';
import { openServices, silentLogger } from '../src/instance/index.js';
import { createArgon2Hasher } from '../src/users/index.js';
import { compare, measureAsync, measureSync } from './measure.js';
import { systemClock } from '../src/clock.js';
import { memorySessionRegistry } from '../test/helpers/memory-session-registry.js';

export interface VerificationResults {
  readonly tokenLength: number;
  readonly rates: Record<string, number>;
}

const DISTINCT_TOKENS = 100_000;
const STATEFUL_TOKENS = 100_000;

export async function benchmarkVerification(log: (line: string) => void): Promise<VerificationResults> {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-'));
  const services = await openServices({ home: join(dir, 'home'), create: true, keys: 'prepare', hasher: createArgon2Hasher({ memoryCost: 1024, timeCost: 1 }), clock: systemClock });
  try {
    const signing = services.crypto.signingKey();
    const keyObject = createSecretKey(signing.key);
    await services.users.createUser('alice', { password: 'bench-password' });
    const nowS = Math.floor(Date.now() / 1000);
    log(`making ${DISTINCT_TOKENS} distinct encapsulated tokens`);
    const tokens = Array.from({ length: DISTINCT_TOKENS }, (_, i) =>
      issueEncapsulatedToken({ sub: 'alice', iat: nowS, exp: nowS + 43_200, jti: `j${i}`, gen: 0 }, { kid: signing.kid, key: keyObject }),
    );
    const pick = (i: number) => tokens[i % DISTINCT_TOKENS]!;

    // The ceiling: one HMAC-SHA256 over the same input and a constant-time compare, nothing else.
    const inputs = tokens.map((token) => token.slice(0, token.lastIndexOf('.')));
    const macs = tokens.map((token) => Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url'));
    const verifier = createEncapsulatedVerifier((kid) => (kid === signing.kid ? keyObject : undefined));
    const now = Date.now();
    const coldHandler = createTokenHandler({ sessions: memorySessionRegistry(), ...services, logger: silentLogger(), audit: silentLogger(), verifiedTokenCache: false, userCacheTtlMs: 3_600_000 });
    const warmHandler = createTokenHandler({ sessions: memorySessionRegistry(), ...services, logger: silentLogger(), audit: silentLogger(), userCacheTtlMs: 3_600_000 });
    const password = randomBytes(32).toString('hex');
    log('sealing iron-session data');
    const seals = await Promise.all(Array.from({ length: 1000 }, (_, i) => sealData({ userId: 'alice', n: i }, { password, ttl: 43_200 })));

    log(`storing ${STATEFUL_TOKENS} stateful tokens in SQLite`);
    const store = createStatefulTokenStore({ repo: services.repo, maxPerUser: () => 50 });
    const statefulTokens: string[] = [];
    for (let u = 0; u < STATEFUL_TOKENS / 50; u++) {
      const user = await services.users.createUser(`user${u}`, { password: 'bench-password' });
      for (let t = 0; t < 50; t++) statefulTokens.push((await store.create(user, Date.now(), 43_200_000)).token);
    }
    log(`${(await services.repo.info()).nodeCount} nodes in the repository`);
    // One handler reading the repository on every check (the cost of a token not in the cache), one with the cache.
    const statefulHandler = createTokenHandler({ sessions: memorySessionRegistry(), ...services, logger: silentLogger(), audit: silentLogger(), userCacheTtlMs: 3_600_000, validatedTokenCache: false });
    const cachedStatefulHandler = createTokenHandler({ sessions: memorySessionRegistry(), ...services, logger: silentLogger(), audit: silentLogger(), userCacheTtlMs: 3_600_000 });
    const order = statefulTokens.map((_, i) => (i * 7919) % statefulTokens.length); // spread over the table

    log('measuring in interleaved rounds');
    const rates = await compare([
      {
        name: 'bare createHmac + timingSafeEqual (ceiling)',
        run: () => measureSync((i) => timingSafeEqual(createHmac('sha256', keyObject).update(inputs[i % DISTINCT_TOKENS]!).digest(), macs[i % DISTINCT_TOKENS]!)),
      },
      {
        name: 'capsule encapsulated, codec, cold (every token different)',
        run: () =>
          measureSync((i) => {
            if (!verifier.verify(pick(i), now).ok) throw new Error('verification failed');
          }),
      },
      {
        name: 'capsule encapsulated, full authenticate, cold (user cached)',
        run: () =>
          measureAsync(async (i) => {
            if (!(await coldHandler.authenticateToken(pick(i)))) throw new Error('authentication failed');
          }),
      },
      {
        name: 'capsule encapsulated, full authenticate, repeated token (cache; exp and gen still checked)',
        run: () =>
          measureAsync(async (i) => {
            if (!(await warmHandler.authenticateToken(tokens[i % 64]!))) throw new Error('authentication failed');
          }),
      },
      {
        name: 'jose jwtVerify HS256, pre-imported key, 256 in flight (best case)',
        run: () => measureAsync((i) => jwtVerify(pick(i), keyObject, { algorithms: ['HS256'] })),
      },
      {
        name: 'iron-session unsealData, 256 in flight',
        run: () => measureAsync((i) => unsealData(seals[i % seals.length]!, { password, ttl: 43_200 })),
      },
      {
        name: 'capsule stateful, full authenticate (SQLite, 100,000 tokens, repository read)',
        run: () =>
          measureAsync(async (i) => {
            if (!(await statefulHandler.authenticateToken(statefulTokens[order[i % order.length]!]!))) throw new Error('authentication failed');
          }),
      },
      {
        name: 'capsule stateful, full authenticate, repeated token (validated-token cache; expiry and user still checked)',
        run: () =>
          measureAsync(async (i) => {
            if (!(await cachedStatefulHandler.authenticateToken(statefulTokens[order[i % 64]!]!))) throw new Error('authentication failed');
          }),
      },
    ]);
    return { tokenLength: tokens[0]!.length, rates };
  } finally {
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
