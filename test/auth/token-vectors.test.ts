import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jwtVerify } from 'jose';
import {
  CLOCK_SKEW_SECONDS,
  createEncapsulatedVerifier,
  createTokenHandler,
  issueEncapsulatedToken,
  MAX_TOKEN_LENGTH,
  type EncapsulatedClaims,
  type EncapsulatedVerification,
  type TokenHandler,
} from '../../src/auth/index.js';
import { fixedClock, systemClock } from '../../src/clock.js';
import { createCryptoSupport, generateKey, keyId } from '../../src/crypto/index.js';
import { openServices, silentLogger, type Services } from '../../src/instance/index.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { memorySessionRegistry } from '../helpers/memory-session-registry.js';

/**
 * Known-answer vectors for the encapsulated token codec, run against the verifier itself (no
 * HTTP; the time is passed in). The vectors are data, made by scripts/make-token-vectors.ts
 * apart from the codec; test/auth/encapsulated-forgery.test.ts tries forgeries over HTTP.
 */
interface Vectors {
  readonly skewSeconds: number;
  readonly maxTokenLength: number;
  readonly keys: ReadonlyArray<{ kid: string; role: 'current' | 'retired'; key: string }>;
  readonly foreignKey: { kid: string; key: string };
  readonly users: ReadonlyArray<{ id: string; generation: number; disabled: boolean }>;
  readonly valid: ReadonlyArray<{ name: string; token: string; nowMs: number; kid: string; claims: EncapsulatedClaims; issuedByCapsule?: boolean }>;
  readonly invalid: ReadonlyArray<{ name: string; token: string; nowMs: number; reason: string }>;
  readonly session: ReadonlyArray<{ name: string; token: string; nowMs: number; accepted: boolean; why: string }>;
}

const vectors = JSON.parse(readFileSync(new URL('../vectors/encapsulated-tokens.json', import.meta.url), 'utf8')) as Vectors;
const keyBytes = new Map(vectors.keys.map((entry) => [entry.kid, Buffer.from(entry.key, 'base64url')]));
const keyOfRole = (role: 'current' | 'retired') => {
  const entry = vectors.keys.find((candidate) => candidate.role === role)!;
  return { kid: entry.kid, key: keyBytes.get(entry.kid)! };
};
const newVerifier = () => createEncapsulatedVerifier((kid) => keyBytes.get(kid));

/** Every vector with what the verifier must answer. */
const expectations: ReadonlyArray<{ name: string; token: string; nowMs: number; expected: EncapsulatedVerification }> = [
  ...vectors.valid.map((v) => ({ name: v.name, token: v.token, nowMs: v.nowMs, expected: { ok: true as const, claims: v.claims, kid: v.kid } })),
  ...vectors.invalid.map((v) => ({ name: v.name, token: v.token, nowMs: v.nowMs, expected: { ok: false as const, reason: v.reason } })),
];

describe('encapsulated token vectors (test/vectors/encapsulated-tokens.json)', () => {
  it('use Capsule\'s key ids, skew and length limit, and cover every way a token fails', () => {
    for (const entry of [...vectors.keys, vectors.foreignKey]) assert.equal(keyId(Buffer.from(entry.key, 'base64url')), entry.kid);
    assert.equal(vectors.skewSeconds, CLOCK_SKEW_SECONDS);
    assert.equal(vectors.maxTokenLength, MAX_TOKEN_LENGTH);
    const reasons = new Set(vectors.invalid.map((v) => v.reason.replace(/^unknown key id .*/, 'unknown key id')));
    for (const reason of [
      'token too long',
      'not a JWS compact token',
      'header is not HS256 with a kid',
      'unknown key id',
      'malformed signature',
      'bad signature',
      'malformed claims',
      'expired',
      'issued in the future',
      'not yet valid',
    ]) {
      assert.ok(reasons.has(reason), `a vector refused as '${reason}'`);
    }
    assert.ok(vectors.valid.some((v) => v.issuedByCapsule) && vectors.session.some((v) => !v.accepted) && vectors.session.some((v) => v.accepted));
  });

  describe('valid tokens', () => {
    for (const vector of vectors.valid) {
      it(`accepts: ${vector.name}`, () => {
        assert.deepEqual(newVerifier().verify(vector.token, vector.nowMs), { ok: true, claims: vector.claims, kid: vector.kid });
      });
    }

    it('are the exact strings Capsule\'s issuer writes for those claims and key', () => {
      const issued = vectors.valid.filter((v) => v.issuedByCapsule);
      for (const vector of issued) {
        const { sub, iat, exp, jti, gen, sid } = vector.claims;
        assert.equal(issueEncapsulatedToken({ sub, iat, exp, jti, gen, ...(sid !== undefined && { sid }) }, { kid: vector.kid, key: keyBytes.get(vector.kid)! }), vector.token, vector.name);
      }
    });

    it('verify with a general JOSE library (jose) and the exported key, as DESIGN.md promises', async () => {
      for (const vector of vectors.valid) {
        const { payload, protectedHeader } = await jwtVerify(vector.token, keyBytes.get(vector.kid)!, {
          algorithms: ['HS256'],
          currentDate: new Date(vector.nowMs),
          clockTolerance: CLOCK_SKEW_SECONDS,
        });
        assert.deepEqual(payload, vector.claims, vector.name);
        assert.equal(protectedHeader.kid, vector.kid, vector.name);
      }
    });
  });

  describe('forged, broken and untimely tokens', () => {
    for (const vector of vectors.invalid) {
      it(`refuses (${vector.reason.replace(/^unknown key id .*/, 'unknown key id')}): ${vector.name}`, () => {
        assert.deepEqual(newVerifier().verify(vector.token, vector.nowMs), { ok: false, reason: vector.reason });
      });
    }
  });

  it('gives the same answers from one verifier that has seen every other vector (its header cache changes nothing)', () => {
    const verifier = newVerifier();
    for (const order of [expectations, [...expectations].reverse()]) {
      for (const vector of order) assert.deepEqual(verifier.verify(vector.token, vector.nowMs), vector.expected, vector.name);
    }
  });

  it('refuses every valid token once its key is gone', () => {
    const verifier = createEncapsulatedVerifier(() => undefined);
    for (const vector of vectors.valid) assert.deepEqual(verifier.verify(vector.token, vector.nowMs), { ok: false, reason: `unknown key id ${vector.kid}` }, vector.name);
  });
});

describe('encapsulated token vectors checked against the user record (token handler, real SQLite home)', () => {
  let handlerAt: (nowMs: number) => TokenHandler;
  let services: Services;
  before(async () => {
    services = await openServices({ home: join(tempDir(), 'home'), create: true, hasher: fastHasher, clock: systemClock });
    for (const user of vectors.users) {
      await services.users.createUser(user.id, { password: `${user.id}-password` });
      for (let i = 0; i < user.generation; i++) await services.users.incrementGeneration(user.id);
      if (user.disabled) await services.users.setDisabled(user.id, true);
    }
    const current = keyOfRole('current');
    const retired = keyOfRole('retired');
    const crypto = createCryptoSupport({
      load: async () => ({
        storage: 'file',
        master: generateKey(),
        stagedMaster: null,
        hmac: current.key,
        stagedHmac: null,
        retiredHmac: [{ kid: retired.kid, key: retired.key, retiredAt: 0 }],
      }),
    });
    await crypto.refresh();
    handlerAt = (nowMs) =>
      createTokenHandler({ sessions: memorySessionRegistry(), repo: services.repo, users: services.users, crypto, config: services.config, clock: fixedClock(nowMs), verifiedTokenCache: false, logger: silentLogger(), audit: silentLogger() });
  });
  after(() => services.close());

  for (const vector of vectors.session) {
    it(`${vector.accepted ? 'accepts' : 'refuses'}: ${vector.name} (${vector.why})`, async () => {
      const verified = newVerifier().verify(vector.token, vector.nowMs);
      assert.ok(verified.ok, 'the codec itself accepts it: the user record decides');
      const authentication = await handlerAt(vector.nowMs).authenticateToken(vector.token);
      if (vector.accepted) assert.equal(authentication?.session.userId, verified.claims.sub);
      else assert.equal(authentication, null);
    });
  }
});
