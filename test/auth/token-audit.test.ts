import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTokenHandler, type TokenOutcome, type TokenKind } from '../../src/auth/index.js';
import type { Log } from '../../src/log.js';
import { fixedClock } from '../../src/clock.js';
import { openServices, silentLogger } from '../../src/instance/index.js';
import { fastHasher } from '../helpers/services.js';
import { initialisedHome } from '../helpers/homes.js';
import { memorySessionRegistry } from '../helpers/memory-session-registry.js';

const HOUR = 3600_000;

/** A handler whose audit lines and verification counts the test reads. */
async function setup(encapsulated: boolean) {
  const home = await initialisedHome();
  const clock = fixedClock(Date.parse('2026-11-23T00:00:00Z'));
  const services = await openServices({ home, clock, hasher: fastHasher });
  await services.config.update('capsule.auth.token', { 'token.expiration': 12 * HOUR, 'token.encapsulated': encapsulated });
  await services.users.createUser('alice', { password: 'pw-correct-horse' });
  const lines: Array<Record<string, unknown>> = [];
  const keep = (object: object) => void lines.push(object as Record<string, unknown>);
  const audit: Log = { info: keep, warn: keep, error: keep };
  const counts: Array<[TokenKind, TokenOutcome]> = [];
  const metrics = { login: () => undefined, accountLock: () => undefined, tokenVerified: (kind: TokenKind, outcome: TokenOutcome) => void counts.push([kind, outcome]) };
  const handler = createTokenHandler({ sessions: memorySessionRegistry(), ...services, logger: silentLogger(), audit, metrics, userCacheTtlMs: 0 });
  const login = await handler.login('alice', 'pw-correct-horse', '127.0.0.1');
  assert.ok(login.ok);
  lines.length = 0; // the login's own line
  const refusals = () => lines.filter((line) => line.event === 'token-refused').map((line) => line.reason);
  return { services, clock, handler, token: login.token, refusals, counts };
}

// Values a client may send in the cookie that are no token at all.
const JUNK = ['x', 'deadbeef', 'a.b.c', 'not.a.token.at.all', `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(43)}`, 'x'.repeat(5000), '00000000-0000-4000-8000-000000000000_short'];

describe('token refusals in the audit trail', () => {
  it('writes no audit line for cookies that are no token, but still counts them', async () => {
    for (const encapsulated of [false, true]) {
      const { services, handler, refusals, counts } = await setup(encapsulated);
      for (const junk of JUNK) assert.equal(await handler.authenticateToken(junk), null, junk.slice(0, 20));
      assert.deepEqual(refusals(), [], 'no audit line for junk');
      assert.equal(counts.filter(([, outcome]) => outcome === 'refused').length, JUNK.length, 'every one counted');
      await services.close();
    }
  });

  it('writes one for a well-formed encapsulated token that fails: bad signature, unknown key, expired, stale generation, unknown user', async () => {
    const { services, clock, handler, token, refusals } = await setup(true);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const badSignature = `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    assert.equal(await handler.authenticateToken(badSignature), null);
    const foreignKid = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'f'.repeat(16) })).toString('base64url');
    assert.equal(await handler.authenticateToken(`${foreignKid}.${payload}.${signature}`), null);
    clock.advance(13 * HOUR);
    assert.equal(await handler.authenticateToken(token), null);
    clock.advance(-13 * HOUR);
    // The generation alone (logout everywhere would also end the token's session, refused first).
    await services.users.incrementGeneration('alice');
    assert.equal(await handler.authenticateToken(token), null);
    // Attacks on the header and the signature are tokens that failed, not junk.
    const algNone = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    assert.equal(await handler.authenticateToken(`${algNone}.${payload}.`), null);
    const confused = Buffer.from(JSON.stringify({ alg: 'RS256', kid: JSON.parse(Buffer.from(header, 'base64url').toString()).kid })).toString('base64url');
    assert.equal(await handler.authenticateToken(`${confused}.${payload}.${signature}`), null);
    assert.equal(await handler.authenticateToken(`${header}.${payload}.`), null, 'the signature cut');
    const bob = await services.users.createUser('bob', { password: 'pw-correct-horse' });
    const bobToken = (await handler.issue(bob)).token;
    await services.users.removeUser('bob');
    assert.equal(await handler.authenticateToken(bobToken), null);
    const reasons = refusals();
    assert.equal(reasons.length, 8, JSON.stringify(reasons));
    assert.equal(reasons[0], 'bad signature');
    assert.match(String(reasons[1]), /^unknown key id/);
    assert.equal(reasons[2], 'expired');
    assert.match(String(reasons[3]), /generation/);
    assert.deepEqual(reasons.slice(4, 7), ['header is not HS256 with a kid', 'header is not HS256 with a kid', 'malformed signature']);
    assert.match(String(reasons[7]), /does not exist/);
    await services.close();
  });

  it('writes one for a well-formed stateful token that fails: wrong secret, no such token, expired', async () => {
    const { services, clock, handler, token, refusals } = await setup(false);
    const wrongSecret = `${token.slice(0, 37)}${token[37] === 'A' ? 'B' : 'A'}${token.slice(38)}`;
    assert.equal(await handler.authenticateToken(wrongSecret), null);
    assert.equal(await handler.authenticateToken(`00000000-0000-4000-8000-000000000000_${token.slice(37)}`), null);
    clock.advance(13 * HOUR);
    assert.equal(await handler.authenticateToken(token), null);
    assert.deepEqual(refusals(), ['wrong secret', 'no such token', 'expired']);
    await services.close();
  });
});
