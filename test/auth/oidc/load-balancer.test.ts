import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningInstance } from '../../../src/instance/index.js';
import { runCliInProcess } from '../../helpers/cli.js';
import { tokenOf, withToken } from '../../helpers/http.js';
import { callbackOf, configureProvider, startLoggedInstance } from '../../helpers/oidc-instances.js';
import { CookieJar, signInAtProvider, startLoginProvider, type LoginProvider } from '../../helpers/oidc-login-provider.js';
import { startHaproxy, type Haproxy } from '../../helpers/haproxy.js';
import { tempDir } from '../../helpers/temp.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };

describe('single sign-on behind HAProxy (round robin, no sticky sessions)', () => {
  const publishes: RunningInstance[] = [];
  let provider: LoginProvider;
  let haproxy: Haproxy;

  before(async () => {
    const root = tempDir();
    const first = await startLoggedInstance(join(root, 'p1'), 'publish-1');
    const bundle = join(root, 'keys.bundle');
    assert.equal((await runCliInProcess(['keys', 'export', '--out', bundle, '--home', first.instance.services.home.root], { env: PASS })).code, 0);
    assert.equal((await runCliInProcess(['keys', 'import', '--in', bundle, '--home', join(root, 'p2')], { env: PASS })).code, 0);
    const second = await startLoggedInstance(join(root, 'p2'), 'publish-2');
    publishes.push(first.instance, second.instance);
    haproxy = await startHaproxy(root, publishes.map((instance) => instance.port));
    provider = await startLoginProvider({ redirectUris: [callbackOf(haproxy.url)] });
    for (const instance of publishes) {
      await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
      await configureProvider(instance, provider);
    }
  });
  after(async () => {
    await haproxy?.stop();
    await Promise.all(publishes.map((instance) => instance.stop()));
    await provider?.close();
  });

  it('the flow starts on one publish, completes on another, and every publish serves the person at once', async () => {
    provider.groups.set('nina', ['idp-editors']);
    const jar = new CookieJar();
    let startedOn: string | null = null;
    const callbackUrl = await signInAtProvider(jar, haproxy.url, {
      provider: 'corp',
      login: 'nina',
      resource: '/api/session',
      onStart: (response) => (startedOn = response.headers.get('x-capsule-instance')),
    });
    const callback = await jar.fetch(callbackUrl);
    assert.equal(callback.status, 303, await callback.text());
    const completedOn = callback.headers.get('x-capsule-instance');
    const token = tokenOf(callback)!;
    assert.ok(startedOn && completedOn && startedOn !== completedOn, `started on ${startedOn}, completed on ${completedOn}: the login state travelled in the cookie`);

    const servedBy = new Set<string>();
    for (let request = 0; request < 6; request++) {
      const response = await fetch(`${haproxy.url}/api/session`, withToken(token));
      assert.equal(response.status, 200, `request ${request} on ${response.headers.get('x-capsule-instance')}`);
      assert.equal(((await response.json()) as { userId: string }).userId, 'nina');
      servedBy.add(response.headers.get('x-capsule-instance')!);
    }
    assert.deepEqual([...servedBy].sort(), ['publish-1', 'publish-2']);
    const other = publishes.find((instance) => instance.name !== completedOn)!;
    assert.deepEqual((await other.services.users.getUser('nina'))?.groups, ['editors', 'staff'], 'created from the claim on the publish that never saw the callback');
  });
});
