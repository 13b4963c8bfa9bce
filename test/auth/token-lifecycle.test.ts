import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createTokenHandler, MAX_TOKENS_PER_USER, TOKEN_TYPE } from '../../src/auth/index.js';
import { fixedClock } from '../../src/clock.js';
import { openServices, silentLogger } from '../../src/instance/index.js';
import { fastHasher } from '../helpers/services.js';
import { initialisedHome } from '../helpers/homes.js';
import { memorySessionRegistry } from '../helpers/memory-session-registry.js';

const HOUR = 3600_000;

async function setup(encapsulated = false) {
  const home = await initialisedHome();
  const clock = fixedClock(Date.parse('2026-11-23T00:00:00Z'));
  const services = await openServices({ home, clock, hasher: fastHasher });
  await services.config.update('capsule.auth.token', { 'token.expiration': 12 * HOUR, 'token.encapsulated': encapsulated });
  await services.users.createUser('alice', { password: 'pw-correct-horse' });
  const handler = createTokenHandler({ sessions: memorySessionRegistry(), ...services, logger: silentLogger(), audit: silentLogger(), userCacheTtlMs: 0 });
  return { services, clock, handler, home };
}

async function tokenNodes(services: Awaited<ReturnType<typeof openServices>>) {
  return services.repo.findByType(TOKEN_TYPE, 1000);
}

describe('stateful token lifecycle', () => {
  it('stores only a hash of the secret', async () => {
    const { services, handler } = await setup();
    const login = await handler.login('alice', 'pw-correct-horse', '127.0.0.1');
    assert.ok(login.ok);
    // Everything after the first '_': base64url secrets may hold '_' themselves (split('_')[1] gave a stub, even '').
    const secret = login.token.slice(login.token.indexOf('_') + 1);
    assert.equal(secret.length, 43, 'a 32-byte secret');
    const [node] = await tokenNodes(services);
    assert.ok(node);
    assert.ok(!JSON.stringify(node.properties).includes(secret));
    assert.match(String(node.properties.tokenHash), /^[0-9a-f]{64}$/);
    assert.equal(node.path.startsWith('/home/users/a/alice/.tokens/'), true);
    await services.close();
  });

  it('refreshes with one write only past half-life, and expires', async () => {
    const { services, clock, handler } = await setup();
    const login = await handler.login('alice', 'pw-correct-horse', '127.0.0.1');
    assert.ok(login.ok);
    const written = async () => (await tokenNodes(services))[0]!.modified.getTime();
    const firstWrite = await written();

    clock.advance(5 * HOUR);
    const early = await handler.authenticateToken(login.token);
    assert.equal(early?.session.token.expiresAt.getTime(), firstWrite + 12 * HOUR, 'before half-life: same expiry');
    assert.equal(await written(), firstWrite, 'no write before half-life');
    assert.equal(early?.renewedToken, undefined, 'and no cookie to send again');

    clock.advance(2 * HOUR); // 7 h: past half-life
    const refreshed = await handler.authenticateToken(login.token);
    assert.equal(refreshed?.session.token.expiresAt.getTime(), clock.now() + 12 * HOUR);
    assert.equal(refreshed?.renewedToken, login.token, 'the same token goes back, so that its cookie lasts as long');
    const refreshWrite = await written();
    assert.equal(refreshWrite, clock.now());
    assert.equal((await handler.authenticateToken(login.token))?.renewedToken, undefined, 'the next request right after sends no cookie');
    assert.equal(await written(), refreshWrite, 'and writes nothing');

    clock.advance(12 * HOUR + 1);
    assert.equal(await handler.authenticateToken(login.token), null, 'expired');
    await services.close();
  });

  it('does not refresh when token.refresh is false', async () => {
    const { services, clock, handler } = await setup();
    await services.config.update('capsule.auth.token', { 'token.refresh': false });
    const login = await handler.login('alice', 'pw-correct-horse', '127.0.0.1');
    assert.ok(login.ok);
    clock.advance(11 * HOUR);
    assert.equal((await handler.authenticateToken(login.token))?.session.token.expiresAt.getTime(), login.session.token.expiresAt.getTime());
    clock.advance(HOUR + 1);
    assert.equal(await handler.authenticateToken(login.token), null);
    await services.close();
  });

  it('cleans up expired tokens in batches and keeps live ones', async () => {
    const { services, clock, handler } = await setup();
    await services.config.update('capsule.auth.token', { 'token.expiration': HOUR });
    for (let i = 0; i < 7; i++) assert.ok((await handler.login('alice', 'pw-correct-horse', '127.0.0.1')).ok);
    clock.advance(2 * HOUR);
    const live = await handler.login('alice', 'pw-correct-horse', '127.0.0.1');
    assert.ok(live.ok);
    assert.equal(await handler.removeExpiredTokens(), 7);
    assert.equal((await tokenNodes(services)).length, 1);
    assert.ok(await handler.authenticateToken(live.token));
    await services.close();
  });

  it(`keeps at most ${MAX_TOKENS_PER_USER} tokens per user, removing the oldest first`, async () => {
    const { services, clock, handler } = await setup();
    const first = await handler.login('alice', 'pw-correct-horse', '127.0.0.1');
    assert.ok(first.ok);
    for (let i = 0; i < MAX_TOKENS_PER_USER; i++) {
      clock.advance(1000);
      assert.ok((await handler.login('alice', 'pw-correct-horse', '127.0.0.1')).ok);
    }
    assert.equal((await tokenNodes(services)).length, MAX_TOKENS_PER_USER);
    assert.equal(await handler.authenticateToken(first.token), null, 'the oldest went first');
    await services.close();
  });
});

describe('encapsulated token lifecycle', () => {
  it('issues a fresh token past half-life, and refuses an expired one', async () => {
    const { services, clock, handler } = await setup(true);
    const login = await handler.login('alice', 'pw-correct-horse', '127.0.0.1');
    assert.ok(login.ok);
    clock.advance(5 * HOUR);
    assert.equal((await handler.authenticateToken(login.token))?.renewedToken, undefined);
    clock.advance(2 * HOUR);
    const renewed = await handler.authenticateToken(login.token);
    assert.ok(renewed?.renewedToken);
    assert.equal(renewed.session.token.expiresAt.getTime(), Math.floor((clock.now() + 12 * HOUR) / 1000) * 1000);
    clock.advance(6 * HOUR);
    assert.equal(await handler.authenticateToken(login.token), null, 'the old one expired');
    assert.ok(await handler.authenticateToken(renewed.renewedToken), 'the renewed one lives on');
    await services.close();
  });

  it('checks expiry and generation on every request even when the token is cached', async () => {
    const { services, clock, handler } = await setup(true);
    const login = await handler.login('alice', 'pw-correct-horse', '127.0.0.1');
    assert.ok(login.ok);
    assert.ok(await handler.authenticateToken(login.token));
    assert.ok(await handler.authenticateToken(login.token));
    await services.users.incrementGeneration('alice');
    assert.equal(await handler.authenticateToken(login.token), null, 'stale generation');
    await services.users.createUser('bob', { password: 'pw-correct-horse' });
    const bob = await handler.login('bob', 'pw-correct-horse', '127.0.0.1');
    assert.ok(bob.ok);
    assert.ok(await handler.authenticateToken(bob.token));
    clock.advance(12 * HOUR + 1000);
    assert.equal(await handler.authenticateToken(bob.token), null, 'expired while cached');
    await services.close();
  });
});
