import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../../src/clock.js';
import type { RunningInstance } from '../../../src/instance/index.js';
import { copyUsers } from '../../../src/users/index.js';
import { runCliInProcess } from '../../helpers/cli.js';
import { sessionStatus, tokenOf, withToken } from '../../helpers/http.js';
import { callbackOf, configureProvider, startLoggedInstance } from '../../helpers/oidc-instances.js';
import { CookieJar, signInAtProvider, startLoginProvider, type LoginProvider } from '../../helpers/oidc-login-provider.js';
import { tempDir } from '../../helpers/temp.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };

/** Polls until `condition` holds (another instance sees a change through its change counter), for at most 15 s. */
async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`never happened: ${what}`);
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

describe('single sign-on on a farm: instances with the same keys and no sticky sessions', () => {
  const instances: Record<'a' | 'b' | 'late' | 'other', { instance: RunningInstance; lines: string[] }> = {} as never;
  let provider: LoginProvider;
  const a = () => instances.a.instance;
  const b = () => instances.b.instance;

  before(async () => {
    const root = tempDir();
    instances.a = await startLoggedInstance(join(root, 'a'), 'a');
    const bundle = join(root, 'keys.bundle');
    assert.equal((await runCliInProcess(['keys', 'export', '--out', bundle, '--home', a().services.home.root], { env: PASS })).code, 0);
    for (const name of ['b', 'late', 'other'] as const) {
      assert.equal((await runCliInProcess(['keys', 'import', '--in', bundle, '--home', join(root, name)], { env: PASS })).code, 0);
    }
    instances.b = await startLoggedInstance(join(root, 'b'), 'b');
    // 'late' runs 20 minutes ahead: past the provisioning window of every token issued now.
    instances.late = await startLoggedInstance(join(root, 'late'), 'late', { clock: fixedClock(Date.now() + 20 * 60_000) });
    instances.other = await startLoggedInstance(join(root, 'other'), 'other');
    provider = await startLoginProvider({ redirectUris: [callbackOf(a().url)] });
    for (const [name, { instance }] of Object.entries(instances)) {
      await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
      if (name !== 'other') await configureProvider(instance, provider); // 'other' does not trust this provider
    }
  });
  after(async () => {
    await Promise.all(Object.values(instances).map(({ instance }) => instance.stop()));
    await provider.close();
  });

  async function signIn(login: string): Promise<string> {
    const jar = new CookieJar();
    const response = await jar.fetch(await signInAtProvider(jar, a().url, { provider: 'corp', login }));
    assert.equal(response.status, 303);
    const token = tokenOf(response);
    assert.ok(token);
    return token;
  }

  it('an instance that has never seen the user accepts the token on its first request, with the groups', async () => {
    provider.groups.set('frank', ['idp-editors']);
    const token = await signIn('frank');
    assert.ok(token.length < 1024, `token of ${token.length} bytes`);
    const prv = claimsOf(token).prv as { p: string; s: string; g: string[]; at: number };
    assert.deepEqual({ p: prv.p, s: prv.s, g: prv.g }, { p: 'corp', s: 'frank', g: ['editors', 'staff'] });

    assert.equal(await b().services.users.getUser('frank'), null);
    const response = await fetch(`${b().url}/api/session`, withToken(token));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-capsule-instance'), 'b');
    assert.deepEqual(((await response.json()) as { userId: string; groups: string[] }).groups, ['editors', 'staff']);
    const created = await b().services.users.getUser('frank');
    assert.equal(created?.generation, 0);
    assert.ok(instances.b.lines.some((line) => line.includes('user created from the provisioning claim of a token')));
    // Created without a password, as on the instance of the callback.
    const passwordLogin = await fetch(`${b().url}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ j_username: 'frank', j_password: 'guess' }),
    });
    assert.equal(passwordLogin.status, 401);
  });

  it('makes one user when the first requests on a new instance arrive at the same moment', async () => {
    const token = await signIn('jo');
    const statuses = await Promise.all(Array.from({ length: 6 }, () => sessionStatus(b().url, token)));
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
    assert.equal((await b().services.users.listUsers()).filter((user) => user.id === 'jo').length, 1);
  });

  it('refuses a token whose provisioning claim is malformed, even when signed with the farm key', async () => {
    const signing = a().services.crypto.signingKey();
    const now = Math.floor(Date.now() / 1000);
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const forge = (prv: unknown) => {
      const input = `${encode({ alg: 'HS256', typ: 'JWT', kid: signing.kid })}.${encode({ sub: 'mallory', iat: now, exp: now + 600, jti: 'forged', gen: 0, prv })}`;
      return `${input}.${createHmac('sha256', signing.key).update(input).digest('base64url')}`;
    };
    const malformed: unknown[] = [
      { p: 'corp', s: 'm', g: ['editors'], at: now, admin: true },
      { p: 'corp', s: 'm', g: 'administrators', at: now },
      { p: 'corp', s: '', g: [], at: now },
      { p: 'corp', s: 'm', g: [], at: String(now) },
      { p: 'corp', s: 'm', g: Array.from({ length: 21 }, (_, index) => `g${index}`), at: now },
      ['corp', 'm', [], now],
    ];
    for (const prv of malformed) assert.equal(await sessionStatus(b().url, forge(prv)), 401, JSON.stringify(prv));
    assert.equal(await b().services.users.getUser('mallory'), null);
    // The same token with a well-formed claim passes: the refusals above are the claim's, and the farm key is what is trusted.
    assert.equal(await sessionStatus(b().url, forge({ p: 'corp', s: 'm', g: [], at: now })), 200);
  });

  it('an instance without the provider, or past the provisioning window, does not create the user', async () => {
    const token = await signIn('hana');
    assert.equal(await sessionStatus(instances.other.instance.url, token), 401);
    assert.equal(await instances.other.instance.services.users.getUser('hana'), null);
    assert.ok(instances.other.lines.some((line) => line.includes('provisioning claim of provider corp, which this instance does not have')));
    for (let request = 0; request < 5; request++) assert.equal(await sessionStatus(instances.other.instance.url, token), 401);
    const warnings = instances.other.lines.filter((line) => line.includes('provisioning claim of provider corp') && line.includes('hana'));
    assert.equal(warnings.length, 1, 'a refused claim is not tried (and logged) again on every request');

    assert.equal(await sessionStatus(instances.late.instance.url, token), 401);
    assert.equal(await instances.late.instance.services.users.getUser('hana'), null);
    assert.ok(instances.late.lines.some((line) => line.includes('older than the provisioning window (900 s)')));
  });

  it('log out everywhere ends the token wherever the user record reaches, and the claim does not bring it back', async () => {
    const token = await signIn('ivan');
    assert.equal(await sessionStatus(b().url, token), 200); // ivan now exists on b, generation 0
    const { generation } = await a().tokens.logoutEverywhere('ivan');
    assert.equal(generation, 1);
    assert.equal(await sessionStatus(a().url, token), 401);

    await copyUsers(a().services.repo, b().services.repo); // the user record reaches b
    await eventually(async () => (await sessionStatus(b().url, token)) === 401, 'b refuses the token once the record arrived');
    assert.equal((await b().services.users.getUser('ivan'))?.generation, 1, 'the claim did not reset the generation');

    const fresh = await signIn('ivan');
    assert.equal(await sessionStatus(a().url, fresh), 200);
    assert.equal(await sessionStatus(b().url, fresh), 200);
  });

  it('a user disabled on an instance, or on the instance of the callback, is not re-created or re-enabled by an old token', async () => {
    const token = await signIn('gina');
    assert.equal(await sessionStatus(b().url, token), 200);
    await b().services.users.setDisabled('gina', true);
    for (let request = 0; request < 3; request++) assert.equal(await sessionStatus(b().url, token), 401);
    assert.equal((await b().services.users.getUser('gina'))?.disabled, true);
    assert.ok(instances.b.lines.some((line) => line.includes('valid token for gina, but gina is disabled')));

    const other = await signIn('gina-2');
    await a().services.users.setDisabled('gina-2', true);
    assert.equal(await sessionStatus(a().url, other), 401);
    await copyUsers(a().services.repo, b().services.repo);
    await eventually(async () => (await b().services.users.getUser('gina-2')) !== null, 'the record reached b');
    assert.equal(await sessionStatus(b().url, other), 401);
    assert.equal((await b().services.users.getUser('gina-2'))?.disabled, true);
  });

  it('a user deleted on an instance is not brought back there by a token issued before; a new sign-in brings it back', async () => {
    const token = await signIn('kai');
    assert.equal(await sessionStatus(b().url, token), 200); // created on b from the claim
    await b().services.users.removeUser('kai');
    const deletedAt = (await b().services.users.deletedAt('kai'))!.getTime();
    for (let request = 0; request < 3; request++) assert.equal(await sessionStatus(b().url, token), 401, 'the old claim does not re-create kai');
    assert.equal(await b().services.users.getUser('kai'), null);
    // A sign-in after the deletion (claims carry whole seconds) is a new decision of the provider.
    while (Math.floor(Date.now() / 1000) * 1000 <= deletedAt) await new Promise((resolve) => setTimeout(resolve, 50));
    const fresh = await signIn('kai');
    assert.equal(await sessionStatus(b().url, fresh), 200);
    assert.ok(await b().services.users.getUser('kai'));
  });
});
