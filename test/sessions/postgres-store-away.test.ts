import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { createPostgresSessionStore, createSessionRegistry, type LiveSessionRegistry } from '../../src/sessions/index.js';
import { tokenOf } from '../helpers/http.js';
import { capturedLogger } from '../helpers/logs.js';
import { POSTGRES_PASSWORD, postgresInstalled, startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

/**
 * The sessions in the farm store's PostgreSQL: a revoke made by another member is heard; the store
 * stopped while signed in (requests go on, revoked tokens stay refused, sign-in follows
 * failure.policy, health says so, logout still signs out); the store back (ends made by another
 * member meanwhile are picked up); a member started while it is away; no answer or log line holds
 * the store's password.
 */
describe('the sessions store on PostgreSQL, away and back', { skip: !postgresInstalled }, () => {
  let pg: PostgresCluster;
  let instance: RunningInstance;
  let other: LiveSessionRegistry;
  let url: string;
  const home = join(tempDir(), 'home');
  const logs = capturedLogger('debug');
  const env = { CAPSULE_ADMIN_PASSWORD: 'admin-password', SECRET_FARM_STORE: POSTGRES_PASSWORD };

  async function signIn(user: string): Promise<{ status: number; token: string | null; body: string }> {
    const response = await fetch(`${url}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ j_username: user, j_password: user === 'admin' ? 'admin-password' : `${user}-pw-correct-horse` }),
    });
    return { status: response.status, token: tokenOf(response), body: await response.text() };
  }
  const as = (token: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { cookie: `login-token=${token}`, ...(init.headers as Record<string, string>) } });
  const status = async (token: string) => (await fetch(`${url}/api/session`, as(token))).status;
  const currentOf = async (token: string) =>
    ((await (await fetch(`${url}/api/sessions`, as(token))).json()) as { sessions: { id: string; current: boolean }[] }).sessions.find((session) => session.current)!.id;
  /** No event tells a test that a push was heard over HTTP: a bounded poll. */
  async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (await condition()) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail(`never: ${what}`);
  }

  before(async () => {
    pg = await startPostgres();
    const database = new URL(await pg.createDatabase()).pathname.slice(1);
    instance = await startInstance({ home, port: 0, hasher: fastHasher, env });
    await instance.services.config.update('capsule.farm.store', { url: pg.url(database), password: '$[env:SECRET_FARM_STORE]', 'failure.policy': 'open' });
    await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
    await instance.stop();
    // The registry is chosen at start: started again, it uses the farm store's PostgreSQL.
    instance = await startInstance({ home, port: 0, hasher: fastHasher, env, logger: logs.logger });
    url = instance.url;
    other = createSessionRegistry({
      store: createPostgresSessionStore({ url: pg.urlWithPassword(database), clock: systemClock, connectTimeoutMs: 1000 }),
      clock: systemClock,
      settings: () => ({ maxPerUser: 0, lastSeenIntervalMs: 300_000 }),
      failurePolicy: () => 'open',
      member: () => 'publish-2',
      audit: capturedLogger().logger,
      logger: capturedLogger().logger,
      listen: false,
    });
  });
  after(async () => {
    await instance?.stop();
    await other?.close().catch(() => undefined);
    await pg?.stop().catch(() => undefined);
  });

  it('a revoke by another member is heard; the store away: requests go on, revoked stay refused, health says so; back: ends made meanwhile are heard', async () => {
    const health = await (await fetch(`${url}/system/health`, { headers: { 'login-token': (await signIn('admin')).token! } })).text();
    assert.match(health, /postgres/i, 'the sessions are on PostgreSQL');
    const device1 = (await signIn('alice')).token!;
    const device2 = (await signIn('alice')).token!;
    const device3 = (await signIn('alice')).token!;
    const device4 = (await signIn('alice')).token!;
    const sid2 = await currentOf(device2);
    const sid4 = await currentOf(device4);
    assert.ok(await other.revoke('alice', sid2, 'admin'), 'another member ends a session');
    await until(async () => (await status(device2)) === 401, 'the end made on another member is refused here');

    await pg.stop();
    assert.equal(await status(device1), 200, 'a signed-in request goes on while the store is away');
    assert.equal(await status(device2), 401, 'a revoked token stays refused while the store is away');
    const during = await signIn('alice');
    assert.equal(during.status, 200, `failure.policy=open: the sign-in goes on (${during.body})`);
    assert.equal(await status(during.token!), 200);
    const admin = (await signIn('admin')).token!;
    const healthAway = await fetch(`${url}/system/health`, { headers: { 'login-token': admin } });
    const healthText = await healthAway.text();
    assert.match(healthText, /not heard|lost|cannot be reached/i, `health tells the feed is lost: ${healthText.slice(0, 400)}`);
    assert.equal(await status(device3), 200);
    await pg.start();
    // Ended on another member once the store is back: heard here (push or resync after the LISTEN reconnects).
    await until(async () => (await other.revoke('alice', sid4, 'admin').catch(() => null)) !== null, 'the other member ends a session once the store is back');
    await until(async () => (await status(device4)) === 401, 'the end made after the store came back is refused here');
    assert.equal(await status(device1), 200);

    const everything = logs.lines.join('\n') + healthText;
    assert.ok(!everything.includes(POSTGRES_PASSWORD), 'the farm store password is in a log line or the health answer');
  });

  it('logout while the store is away still signs the device out: the cookie cleared, the (encapsulated) token refused', async () => {
    await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
    const device = (await signIn('alice')).token!;
    assert.equal(await status(device), 200);
    await pg.stop();
    try {
      const logout = await fetch(`${url}/system/sling/logout`, as(device, { method: 'POST', headers: { origin: url } }));
      const answer = await logout.text();
      const cleared = logout.headers.getSetCookie().some((cookie) => /^login-token=;/.test(cookie) || /Max-Age=0/i.test(cookie));
      assert.ok(cleared, `the cookie is not cleared: logout answered ${logout.status} ${answer}`);
      assert.equal(await status(device), 401, 'the token logged out still works');
    } finally {
      await pg.start();
      await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': false });
    }
  });

  it('a session started while the store was away (policy open) is not recorded, as documented: never listed; its own logout still refuses it', async () => {
    await instance.services.config.update('capsule.farm.store', { 'failure.policy': 'open' });
    await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
    const other = (await signIn('alice')).token!;
    await pg.stop();
    let during: string;
    try {
      during = (await signIn('alice')).token!;
      assert.equal(await status(during), 200);
    } finally {
      await pg.start();
    }
    try {
      await until(async () => (await fetch(`${url}/api/sessions`, as(other))).status === 200, 'the store answers again');
      const listed = ((await (await fetch(`${url}/api/sessions`, as(during))).json()) as { sessions: { id: string; current: boolean }[] }).sessions;
      assert.ok(!listed.some((session) => session.current), 'not recorded: not listed (README, Sessions)');
      const logout = await fetch(`${url}/system/sling/logout`, as(during, { method: 'POST', headers: { origin: url } }));
      assert.equal(logout.status, 200);
      assert.equal(await status(during), 401, 'its logout refuses its (encapsulated) token on this member');
    } finally {
      await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': false });
    }
  });

  it('failure.policy=closed: a sign-in while the store is away is refused with 503, and gives no token', async () => {
    await instance.services.config.update('capsule.farm.store', { 'failure.policy': 'closed' });
    await pg.stop();
    try {
      const during = await signIn('alice');
      assert.equal(during.status, 503, during.body);
      assert.equal(during.token, null);
    } finally {
      await pg.start();
    }
  });

  it('restarted while the store is away with failure.policy=closed, a member refuses every session until it has read the ended ones, and says why', async () => {
    await instance.services.config.update('capsule.farm.store', { 'failure.policy': 'closed' });
    let thief = '';
    // The store was just started again (the test before): a sign-in is refused (closed) until the pool reconnects.
    await until(async () => (thief = (await signIn('alice')).token ?? '') !== '', 'a sign-in works once the store answers');
    const owner = (await signIn('alice')).token!;
    const sid = await currentOf(thief);
    assert.equal((await fetch(`${url}/api/sessions/${sid}`, as(owner, { method: 'DELETE', headers: { origin: url } }))).status, 200);
    assert.equal(await status(thief), 401);
    await instance.stop();
    await pg.stop();
    let admin: string;
    try {
      instance = await startInstance({ home, port: 0, hasher: fastHasher, env, logger: logs.logger });
      url = instance.url;
      // No event tells a test the first read failed: the log line that says so, polled.
      await until(async () => logs.lines.some((line) => /never read, so every token naming a session is refused/.test(line)), 'the log tells the ended sessions could not be read');
      assert.equal(await status(thief), 401, 'the session ended before the restart is refused');
      assert.equal(await status(owner), 401, 'closed: every session is refused while the ended ones are unknown');
    } finally {
      await pg.start();
    }
    await until(async () => (await status(owner)) === 200, 'the ended sessions are read once the store is back');
    assert.equal(await status(thief), 401);
    await instance.services.config.update('capsule.farm.store', { 'failure.policy': 'open' });
  });
});
