import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTokenHandler } from '../../src/auth/index.js';
import { fixedClock } from '../../src/clock.js';
import { openServices, silentLogger } from '../../src/instance/index.js';
import { createReceiver, parsePackage } from '../../src/replication/index.js';
import { initialisedHome } from '../helpers/homes.js';
import { fastHasher } from '../helpers/services.js';
import { memorySessionRegistry } from '../helpers/memory-session-registry.js';

// Changes of users reach the token handler's caches one way: its own watch of the users counter
// (token-handler.ts). These tests fail if a transaction of this process that changes a user
// without the user manager (the replication receiver's) leaves a token of that user accepted, or
// if the handler alone does not see another process's change once its 500 ms have passed. The
// clock stands still unless a test moves it, so neither the user cache's 5 s nor a timer helps.

async function setup() {
  const home = await initialisedHome();
  const clock = fixedClock(Date.parse('2026-12-03T12:00:00Z'));
  const services = await openServices({ home, clock, hasher: fastHasher });
  await services.config.update('capsule.auth.token', { 'token.encapsulated': true });
  const handler = createTokenHandler({ sessions: memorySessionRegistry(), ...services, logger: silentLogger(), audit: silentLogger() });
  return { home, clock, services, handler };
}

describe('user changes and the token caches', () => {
  it('a user disabled by a replication package applied in this process is refused at once', async () => {
    const { services, handler } = await setup();
    const receiver = createReceiver({ repo: services.repo, clock: services.clock });
    const pkg = (sequence: number, disabled: boolean) =>
      parsePackage({ format: 1, source: 'author-a', sequence, items: [{ type: 'user', id: 'rita', state: { disabled, generation: 0, groups: [] } }] });
    assert.equal((await receiver.receive(pkg(1, false))).outcome, 'applied');
    const rita = await services.users.getUser('rita');
    assert.ok(rita);
    const { token } = await handler.issue(rita);
    assert.ok(await handler.authenticateToken(token));
    assert.ok(handler.authenticateKept(token), 'rita is kept');

    assert.equal((await receiver.receive(pkg(2, true))).outcome, 'applied');
    assert.equal(handler.authenticateKept(token), undefined, 'the kept user is gone');
    assert.equal(await handler.authenticateToken(token), null, 'the full check reads the disabled user');
    await services.close();
  });

  it("sees another process's change within 500 ms by its own clock, without an instance around it", async () => {
    const { home, clock, services, handler } = await setup();
    await services.users.createUser('sam', { password: 'pw-correct-horse' });
    const login = await handler.login('sam', 'pw-correct-horse', '127.0.0.1');
    assert.ok(login.ok);
    assert.ok(await handler.authenticateToken(login.token));
    // Another process: a second connection to the same file shares no listeners with the first.
    const other = await openServices({ home, clock, hasher: fastHasher });
    await other.users.setDisabled('sam', true);
    await other.close();
    assert.ok(handler.authenticateKept(login.token), 'the staleness accepted: no look is due yet');
    assert.ok(await handler.authenticateToken(login.token));
    clock.advance(500);
    assert.equal(handler.authenticateKept(login.token), undefined, 'a look is due: the kept path leaves the answer to the full check');
    assert.equal(await handler.authenticateToken(login.token), null, 'a look was due: it saw the users counter move');
    assert.equal(handler.authenticateKept(login.token), undefined, 'and the kept user is gone');
    await services.close();
  });
});
