import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LOGIN_STATE_LIFETIME_S } from '../../../src/auth/oidc/index.js';
import type { RunningInstance } from '../../../src/instance/index.js';
import { tokenOf } from '../../helpers/http.js';
import { callbackOf, configureProvider, startLoggedInstance } from '../../helpers/oidc-instances.js';
import { CookieJar, signInAtProvider, startLoginProvider, type LoginProvider } from '../../helpers/oidc-login-provider.js';
import { tempDir } from '../../helpers/temp.js';

// The login state (PKCE verifier, state, nonce) lives in a signed cookie for LOGIN_STATE_LIFETIME_S:
// a callback after that is refused even though the cookie is genuine and the code still good.
describe('the OpenID login state expires', () => {
  let instance: RunningInstance;
  let provider: LoginProvider;
  let offsetMs = 0;
  before(async () => {
    ({ instance } = await startLoggedInstance(join(tempDir(), 'home'), 'a', { clock: { now: () => Date.now() + offsetMs } }));
    provider = await startLoginProvider({ redirectUris: [callbackOf(instance.url)] });
    await configureProvider(instance, provider);
  });
  after(async () => {
    await instance.stop();
    await provider.close();
  });

  it('refuses a callback whose state cookie has expired, and creates no user', async () => {
    const jar = new CookieJar();
    const callbackUrl = await signInAtProvider(jar, instance.url, { provider: 'corp', login: 'late' });
    offsetMs = LOGIN_STATE_LIFETIME_S * 1000 + 1_000;
    const response = await jar.fetch(callbackUrl);
    assert.equal(response.status, 401);
    assert.equal(tokenOf(response), null);
    assert.match(await response.text(), /took too long/);
    assert.equal(await instance.services.users.getUser('late'), null, 'no user was created');
  });

  it('accepts the same callback within the lifetime', async () => {
    offsetMs = 0;
    const jar = new CookieJar();
    const callbackUrl = await signInAtProvider(jar, instance.url, { provider: 'corp', login: 'prompt' });
    offsetMs = LOGIN_STATE_LIFETIME_S * 1000 - 5_000;
    const response = await jar.fetch(callbackUrl);
    assert.equal(response.status, 303);
    assert.ok(tokenOf(response));
  });
});
