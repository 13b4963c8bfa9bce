import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTokenHandler } from '../../src/auth/index.js';
import { fixedClock } from '../../src/clock.js';
import { openServices, silentLogger } from '../../src/instance/index.js';
import { runCliInProcess } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { fastHasher } from '../helpers/services.js';
import { memorySessionRegistry } from '../helpers/memory-session-registry.js';

// The Fastify plugin first asks `authenticateKept`, which answers without a promise from a token
// verified before and its kept user. These tests fail if that answer accepts an encapsulated token
// that the full check refuses: expired, of a disabled user, after logout everywhere, or altered.

const HOUR = 3600_000;

async function setup(options: { userCacheTtlMs?: number } = {}) {
  const home = await initialisedHome();
  const clock = fixedClock(Date.parse('2026-12-03T12:00:00Z'));
  const services = await openServices({ home, clock, hasher: fastHasher });
  await services.config.update('capsule.auth.token', { 'token.expiration': 12 * HOUR, 'token.encapsulated': true });
  await services.users.createUser('alice', { password: 'pw-correct-horse', groups: [] });
  const handler = createTokenHandler({ sessions: memorySessionRegistry(), ...services, logger: silentLogger(), audit: silentLogger(), ...options });
  const login = await handler.login('alice', 'pw-correct-horse', '127.0.0.1');
  assert.ok(login.ok && login.token.includes('.'), 'an encapsulated token');
  assert.equal(handler.authenticateKept(login.token), undefined, 'nothing is kept before the first full check');
  assert.ok(await handler.authenticateToken(login.token));
  return { home, clock, services, handler, token: login.token };
}

describe('encapsulated tokens answered from what is kept', () => {
  it('gives the session the full check gives', async () => {
    const { services, handler, token } = await setup();
    const kept = handler.authenticateKept(token);
    assert.ok(kept);
    assert.deepEqual(kept, await handler.authenticateToken(token));
    assert.equal(kept.session.userId, 'alice');
    assert.equal(kept.renewedToken, undefined);
    await services.close();
  });

  it('does not answer for a disabled user, after logout everywhere, or for an altered token', async () => {
    const { services, handler, token: before } = await setup();
    await services.users.setDisabled('alice', true);
    assert.equal(handler.authenticateKept(before), undefined, 'disabled');
    assert.equal(await handler.authenticateToken(before), null);
    assert.equal(handler.authenticateKept(before), undefined, 'the disabled user is kept now, and still refused');
    await services.users.setDisabled('alice', false);
    // Disabling raised the generation: a token of before stays refused once enabled again.
    assert.equal(await handler.authenticateToken(before), null, 'enabled again: the token of before stays refused');
    assert.equal(handler.authenticateKept(before), undefined);
    const login = await handler.login('alice', 'pw-correct-horse', '127.0.0.1');
    assert.ok(login.ok);
    const token = login.token;
    assert.ok(await handler.authenticateToken(token), 'enabled again, a new sign-in works');
    assert.ok(handler.authenticateKept(token));

    const last = token.at(-1) === 'A' ? 'B' : 'A';
    assert.equal(handler.authenticateKept(token.slice(0, -1) + last), undefined, 'another signature is not the kept token');

    await handler.logoutEverywhere('alice');
    assert.equal(handler.authenticateKept(token), undefined, 'generation raised');
    assert.equal(await handler.authenticateToken(token), null);
    assert.equal(handler.authenticateKept(token), undefined, 'the user of the new generation is kept now, and the token still refused');
    await services.close();
  });

  it('checks expiry with the clock, and renews past half-life', async () => {
    const { clock, services, handler, token } = await setup();
    clock.advance(7 * HOUR);
    assert.equal(handler.authenticateKept(token), undefined, 'the kept user is older than the user cache allows');
    assert.ok((await handler.authenticateToken(token))?.renewedToken);
    const renewed = handler.authenticateKept(token);
    assert.ok(renewed?.renewedToken, 'past half-life: a new token');
    assert.equal(renewed.session.token.expiresAt.getTime(), Math.floor((clock.now() + 12 * HOUR) / 1000) * 1000);
    clock.advance(5 * HOUR - 1000);
    assert.ok(await handler.authenticateToken(token), 'the last second of its life');
    assert.ok(handler.authenticateKept(token), 'and from what is kept');
    clock.advance(1000);
    assert.equal(handler.authenticateKept(token), undefined, 'expired');
    assert.equal(await handler.authenticateToken(token), null);
    await services.close();
  });

  it('answers again only while the keys and the token settings are those it was checked with', async () => {
    const { home, services, handler, token } = await setup();
    assert.equal(handler.authenticateKept(token)?.renewedToken, undefined);
    assert.equal(handler.authenticateKept(token)?.renewedToken, undefined, 'the same answer again');

    // The signing key rotated: the token's key is retired, so each answer now carries a renewed token.
    assert.equal((await runCliInProcess(['keys', 'rotate', '--hmac', '--home', home])).code, 0);
    await services.crypto.refresh();
    const renewed = handler.authenticateKept(token);
    assert.ok(renewed?.renewedToken, 'signed by a retired key: renewed');
    assert.ok(handler.authenticateKept(token)?.renewedToken, 'and again on the next request');

    // Refresh switched off: nothing to do with keys, but the answer was checked with the old settings.
    await services.config.update('capsule.auth.token', { 'token.refresh': false });
    assert.ok(handler.authenticateKept(token)?.renewedToken, 'a retired key is renewed whatever the refresh setting');

    // The retired key dropped: the token is no longer answered for, and the full check refuses it.
    assert.equal((await runCliInProcess(['keys', 'rotate', '--hmac', '--discard-old', '--home', home])).code, 0);
    await services.crypto.refresh();
    assert.equal(handler.authenticateKept(token), undefined, 'its key is gone');
    assert.equal(await handler.authenticateToken(token), null);
    await services.close();
  });

  it('takes a change of the token settings into account at once', async () => {
    const { clock, services, handler, token } = await setup();
    await services.config.update('capsule.auth.token', { 'token.refresh': false });
    clock.advance(7 * HOUR);
    assert.ok(await handler.authenticateToken(token));
    assert.equal(handler.authenticateKept(token)?.renewedToken, undefined, 'past half-life, but refresh is off');
    await services.config.update('capsule.auth.token', { 'token.refresh': true });
    assert.ok(handler.authenticateKept(token)?.renewedToken, 'refresh on again: renewed at once');
    await services.close();
  });

  it('does not give an answer again past the expiry or half-life it was good until, the user kept all along', async () => {
    const { clock, services, handler, token } = await setup({ userCacheTtlMs: 100 * HOUR });
    assert.ok(handler.authenticateKept(token));
    clock.advance(6 * HOUR + 1000);
    assert.equal(handler.authenticateKept(token), undefined, 'a look at the users counter is due: the full check answers');
    assert.ok((await handler.authenticateToken(token))?.renewedToken);
    assert.ok(handler.authenticateKept(token)?.renewedToken, 'past half-life: renewed, not the answer kept before');
    await services.config.update('capsule.auth.token', { 'token.refresh': false });
    assert.equal(handler.authenticateKept(token)?.renewedToken, undefined);
    clock.advance(6 * HOUR);
    assert.equal(handler.authenticateKept(token), undefined, 'expired');
    await services.close();
  });

  it('does not give an answer again once the kept user is another object: another process disabled the user', async () => {
    const { home, clock, services, handler, token } = await setup();
    assert.ok(handler.authenticateKept(token));
    // Another process (a second connection to the same file shares no change listeners) disables alice.
    const other = await openServices({ home, clock, hasher: fastHasher });
    await other.users.setDisabled('alice', true);
    await other.close();
    assert.ok(handler.authenticateKept(token), 'the staleness accepted: the user cache has not looked again yet');
    clock.advance(5_000); // the user cache's 5 s
    assert.equal(await handler.authenticateToken(token), null, 'the full check reads the disabled user');
    assert.equal(handler.authenticateKept(token), undefined, 'and the kept answer is not given for the new user object');
    await services.close();
  });
});
