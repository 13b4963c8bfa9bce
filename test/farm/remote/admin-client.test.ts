import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { adminCredentials, memberClient } from '../../../src/farm/remote/index.js';

// The members of these tests are on other machines, which cannot run here: fetch is replaced by
// one that records where it was asked to go and sends nothing, so no test can reach them.
let asked: string[] = [];
const realFetch = globalThis.fetch;

describe('the farm admin client and plain http', () => {
  beforeEach(() => {
    asked = [];
    globalThis.fetch = (async (input: string | URL | Request) => {
      asked.push(String(input instanceof Request ? input.url : input));
      throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    }) as typeof fetch;
  });
  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  const credentials = adminCredentials({ env: { CAPSULE_ADMIN_PASSWORD: 'the-admin-password' } });

  it('refuses to send the admin password over plain http to another machine, sending nothing', async () => {
    for (const url of ['http://10.0.1.1:4503', 'http://publish-1.example:4503', 'http://[::ffff:10.0.0.1]:4503']) {
      const client = memberClient({ name: 'publish-1', role: 'publish', url }, credentials);
      await assert.rejects(client.get('/system/farm/member'), (error: Error) => {
        assert.equal(error.message, `publish-1 (${url}) is plain http: the admin password is sent only over https (plain http only to a loopback address); serve the member with 'capsule start --tls-cert … --tls-key …' and write https in the manifest, or pass --allow-plain-http on a network you trust; nothing was sent`);
        return true;
      });
    }
    assert.deepEqual(asked, []);
  });

  it('logs in over https, over plain http to loopback, and over plain http elsewhere only with --allow-plain-http', async () => {
    const allowed = adminCredentials({ allowPlainHttp: true, env: { CAPSULE_ADMIN_PASSWORD: 'the-admin-password' } });
    const cases = [
      { url: 'https://10.0.1.1:4503', credentials },
      { url: 'http://127.0.0.3:4503', credentials },
      { url: 'http://localhost:4503', credentials },
      { url: 'http://10.0.1.2:4503', credentials: allowed },
    ];
    for (const { url, credentials: given } of cases) {
      await assert.rejects(memberClient({ name: 'm', role: 'publish', url }, given).get('/system/farm/member'), /does not answer \(connection refused\)/);
    }
    assert.deepEqual(asked, cases.map(({ url }) => `${url}/j_security_check`));
  });

  it('sends an API key, like the password, only over https or to loopback, and never logs in with it', async () => {
    const key = `cap_ak_${'a'.repeat(16)}_${'b'.repeat(43)}`;
    const withKey = adminCredentials({ env: { CAPSULE_ADMIN_API_KEY: key, CAPSULE_ADMIN_PASSWORD: 'the-admin-password' } });
    assert.equal(withKey.apiKey, key, 'the key is used, not the password');
    assert.equal(withKey.password, undefined);
    await assert.rejects(memberClient({ name: 'publish-1', role: 'publish', url: 'http://10.0.1.1:4503' }, withKey).get('/system/farm/member'), (error: Error) => {
      assert.match(error.message, /is plain http: the admin API key is sent only over https/);
      assert.ok(!error.message.includes(key));
      return true;
    });
    await assert.rejects(memberClient({ name: 'm', role: 'publish', url: 'http://127.0.0.3:4503' }, withKey).get('/system/farm/member'), /connection refused/);
    assert.deepEqual(asked, ['http://127.0.0.3:4503/system/farm/member'], 'no login: the key goes with the call itself');
  });
});
