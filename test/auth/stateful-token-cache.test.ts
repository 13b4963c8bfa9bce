import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTokenHandler, type TokenHandler } from '../../src/auth/index.js';
import { fixedClock } from '../../src/clock.js';
import { openServices, silentLogger, startInstance, type RunningInstance, type Services } from '../../src/instance/index.js';
import { runCliInProcess } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { login, sessionStatus } from '../helpers/http.js';
import { sharedPostgres } from '../helpers/postgres.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { memorySessionRegistry } from '../helpers/memory-session-registry.js';

// The token handler keeps stateful tokens it validated (validated-tokens.ts). These tests fail if
// it accepts a token that this process has ended, or one that another process ended longer ago
// than the change-watch interval (500 ms), or one past its expiry, whether it answers from what
// is kept (`authenticateKept`, as the Fastify plugin asks first) or with the full check.

const HOUR = 3600_000;
const RECHECK_MS = 500;

async function setup(home?: string) {
  home ??= await initialisedHome();
  const clock = fixedClock(Date.parse('2026-12-03T12:00:00Z')); // moves only when a test says so
  const services = await openServices({ home, clock, hasher: fastHasher });
  await services.config.update('capsule.auth.token', { 'token.expiration': 12 * HOUR, 'token.encapsulated': false });
  if (!(await services.users.getUser('alice'))) await services.users.createUser('alice', { password: 'pw-correct-horse' });
  const handler = createTokenHandler({ sessions: memorySessionRegistry(), ...services, logger: silentLogger(), audit: silentLogger() });
  return { home, clock, services, handler };
}

/** A token that has been validated once, so it is in the cache. */
async function cachedToken(handler: TokenHandler): Promise<string> {
  const login = await handler.login('alice', 'pw-correct-horse', '127.0.0.1');
  assert.ok(login.ok);
  assert.ok(await handler.authenticateToken(login.token), 'valid after login');
  assert.ok(await handler.authenticateToken(login.token), 'valid from the cache');
  assert.ok(handler.authenticateKept(login.token), 'answered from what is kept, without a promise');
  return login.token;
}

/** As the Fastify plugin asks: what is kept first, then the full check. */
async function accepted(handler: TokenHandler, token: string): Promise<boolean> {
  return (handler.authenticateKept(token) ?? (await handler.authenticateToken(token))) !== null;
}

describe('validated stateful tokens: changes by this process end them at once', () => {
  it('a logout is refused at once, and the user’s other token stays valid', async () => {
    const { services, handler } = await setup();
    const ended = await cachedToken(handler);
    const other = await cachedToken(handler);
    await handler.logout(ended);
    assert.equal(await accepted(handler, ended), false, 'logged out: refused although the clock did not move');
    assert.equal(await accepted(handler, other), true);
    await services.close();
  });

  it('logout everywhere refuses every stateful token of the user at once', async () => {
    const { services, handler } = await setup();
    const first = await cachedToken(handler);
    const second = await cachedToken(handler);
    assert.equal((await handler.logoutEverywhere('alice')).statefulTokensRemoved, 2);
    assert.equal(await accepted(handler, first), false);
    assert.equal(await accepted(handler, second), false);
    await services.close();
  });

  it('a user removed and created again does not bring its old token back', async () => {
    // The user cache is told of the new user at once; only the emptied token cache refuses the token.
    const { services, handler } = await setup();
    const token = await cachedToken(handler);
    await services.users.removeUser('alice');
    await services.users.createUser('alice', { password: 'pw-correct-horse' });
    assert.equal(await accepted(handler, token), false, 'its token node went with the removed user');
    await services.close();
  });

  it('a disabled user is refused at once; enabled again, its tokens of before stay refused (they carry the generation disabling raised), a new one works', async () => {
    const { services, handler } = await setup();
    const token = await cachedToken(handler);
    await services.users.setDisabled('alice', true);
    assert.equal(await accepted(handler, token), false);
    await services.users.setDisabled('alice', false);
    assert.equal(await accepted(handler, token), false);
    assert.equal(await accepted(handler, await cachedToken(handler)), true);
    await services.close();
  });

  it('a password change ends the stateful tokens of before, cached or not', async () => {
    const { services, handler } = await setup();
    const token = await cachedToken(handler);
    await services.users.setPassword('alice', 'another-correct-horse');
    assert.equal(await accepted(handler, token), false);
    await services.close();
  });

  it('a cached token with another secret is refused', async () => {
    const { services, handler } = await setup();
    const token = await cachedToken(handler);
    const forged = `${token.slice(0, 37)}${token[37] === 'A' ? 'B' : 'A'}${token.slice(38)}`;
    assert.equal(await accepted(handler, forged), false);
    assert.equal(await accepted(handler, token), true);
    await services.close();
  });
});

describe('validated stateful tokens: expiry is checked on every request', () => {
  it('refuses a cached token once the injected clock passes its expiry, and refreshes it once past half-life', async () => {
    const { services, clock, handler } = await setup();
    const token = await cachedToken(handler);
    clock.advance(7 * HOUR); // past half-life: refreshed, and the cache keeps the new expiry
    const refreshed = await handler.authenticateToken(token);
    assert.equal(refreshed?.session.token.expiresAt.getTime(), clock.now() + 12 * HOUR);
    await services.config.update('capsule.auth.token', { 'token.refresh': false }); // so that it ends when this expiry says
    clock.advance(11 * HOUR);
    assert.equal(await accepted(handler, token), true, 'within the refreshed lifetime');
    clock.advance(HOUR + 1);
    assert.equal(await accepted(handler, token), false, 'expired while cached');
    await services.close();
  });
});

describe('validated stateful tokens: changes by another process are seen within the interval', () => {
  async function twoProcesses(): Promise<{ here: Awaited<ReturnType<typeof setup>>; other: Services; otherHandler: TokenHandler }> {
    const here = await setup();
    // A second connection to the same file: it shares no listeners with the first, as another process would not.
    const other = await openServices({ home: here.home, clock: here.clock, hasher: fastHasher });
    return { here, other, otherHandler: createTokenHandler({ sessions: memorySessionRegistry(), ...other, logger: silentLogger(), audit: silentLogger() }) };
  }

  it('a logout by another connection is refused once the interval has passed', async () => {
    const { here, other, otherHandler } = await twoProcesses();
    const token = await cachedToken(here.handler);
    await otherHandler.logout(token);
    // The staleness accepted (as for content): this process has not looked at the counters yet.
    assert.equal(await accepted(here.handler, token), true, 'still served from the cache within the interval');
    here.clock.advance(RECHECK_MS);
    assert.equal(await accepted(here.handler, token), false, 'refused once the counters were read again');
    await other.close();
    await here.services.close();
  });

  it('logout everywhere by the CLI is refused once the interval has passed', async () => {
    const here = await setup();
    const token = await cachedToken(here.handler);
    const cli = await runCliInProcess(['users', 'logout-everywhere', 'alice', '--home', here.home]);
    assert.equal(cli.code, 0, cli.stderr);
    here.clock.advance(RECHECK_MS);
    assert.equal(await accepted(here.handler, token), false);
    await here.services.close();
  });
});

describe('validated stateful tokens: two authors on one PostgreSQL repository', () => {
  // Polling is off and the clocks stand still, so only the repository's notification can tell
  // one author that the other logged a token out.
  const cluster = sharedPostgres();
  let a: RunningInstance;
  let b: RunningInstance;
  before(async () => {
    const url = await (await cluster()).createDatabase();
    const start = (home: string) =>
      startInstance({
        home,
        port: 0,
        hasher: fastHasher,
        env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' },
        repositoryUrl: url,
        keyStorage: 'repository',
        changePollMs: 3_600_000,
        clock: fixedClock(Date.now()),
      });
    a = await start(join(tempDir(), 'author-1'));
    b = await start(join(tempDir(), 'author-2'));
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('a logout on one author is refused on the other once the notification arrives', async () => {
    await a.services.users.createUser('dora', { password: 'dora-pw-correct-horse' });
    const token = await login(b.url, 'dora', 'dora-pw-correct-horse');
    assert.equal(await sessionStatus(b.url, token), 200);
    assert.equal(await sessionStatus(b.url, token), 200); // now in b's cache
    await a.tokens.logout(token);
    const deadline = Date.now() + 30_000;
    while ((await sessionStatus(b.url, token)) !== 401) {
      if (Date.now() > deadline) assert.fail('the other author still accepts the logged-out token');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  });
});
