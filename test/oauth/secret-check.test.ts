import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findProtectedValues } from '../../src/crypto/index.js';
import { isCapsuleError } from '../../src/errors.js';
import type { Services } from '../../src/instance/index.js';
import { createOAuthClients, oauthClientPid, type OAuthClients } from '../../src/oauth/index.js';
import { keyedServices } from '../helpers/keyed-services.js';
import { startOAuthProvider, type TestProvider } from '../helpers/oauth-provider.js';
import { freePort } from '../helpers/ports.js';

const SECRET = 'plain-secret-b7e1f0';

describe('the client secret at rest and the check of a configuration', () => {
  let provider: TestProvider;
  let services: Services;
  let other: Services;
  let oauth: OAuthClients;
  let master: string;
  before(async () => {
    provider = await startOAuthProvider([{ clientId: 'svc', clientSecret: SECRET }]);
    services = await keyedServices();
    other = await keyedServices();
    oauth = createOAuthClients({ ...services, request: { timeoutMs: 1_000, attempts: 2, backoffMs: 10 } });
    master = services.crypto.keyIds().master;
  });
  after(async () => {
    await provider.close();
    await services.close();
    await other.close();
  });

  const add = (name: string, values: Record<string, string> = {}) =>
    services.config.update(oauthClientPid(name), { 'token.endpoint': provider.tokenEndpoint, 'client.id': 'svc', 'client.secret': SECRET, ...values });

  it('stores the secret encrypted with the master key: the repository never holds it in clear', async () => {
    await add('svc');
    const stored = services.config.stored(oauthClientPid('svc'))!['client.secret'] as string;
    assert.match(stored, new RegExp(`^\\{cap1:${master}:[A-Za-z0-9_-]+\\}$`));
    assert.equal(services.crypto.unprotect(stored), SECRET);
    const dir = services.home.repositoryDir;
    for (const file of readdirSync(dir)) {
      assert.ok(!readFileSync(join(dir, file)).includes(SECRET), `${file} holds the secret in clear`);
    }
    const found = await findProtectedValues(services.repo, services.home.configDir);
    assert.ok(found.some((value) => value.path === `/conf/system/${oauthClientPid('svc')}` && value.property === 'client.secret' && value.kid === master));
  });

  it('passes with a real grant, says from where, shows neither secret nor token, and refills the cache', async () => {
    const grants = provider.grants;
    const result = await oauth.check('svc');
    assert.equal(result.status, 'ok', result.message);
    assert.equal(result.code, null);
    assert.equal(result.secretKeyId, master);
    assert.equal(result.masterKeyId, master);
    assert.match(result.message, new RegExp(`^svc: token endpoint ${provider.tokenEndpoint} granted client 'svc' an access token \\(expires in \\d+ s\\)$`));
    assert.equal(provider.grants - grants, 1, 'the check makes a real grant');
    const token = await oauth.getAccessToken('svc');
    assert.equal(provider.grants - grants, 1, 'and integrations then use its token');
    assert.ok(!result.message.includes(token) && !result.message.includes(SECRET));
    await oauth.check('svc');
    assert.equal(provider.grants - grants, 2, 'every check asks the provider again');
  });

  it("reports the provider's invalid_client verbatim with the HTTP status when the secret decrypts but is wrong", async () => {
    await add('wrong', { 'client.secret': 'not-the-secret-99' });
    const result = await oauth.check('wrong');
    assert.equal(result.status, 'critical');
    assert.equal(result.code, 'OAUTH_REJECTED');
    assert.equal(result.httpStatus, 401);
    assert.equal(result.error, 'invalid_client');
    assert.equal(result.errorDescription, 'client authentication failed');
    assert.ok(
      result.message.startsWith(
        `wrong: token endpoint ${provider.tokenEndpoint} answered HTTP 401: {"error":"invalid_client","error_description":"client authentication failed"}; client.secret decrypts with this instance's master key`,
      ),
      result.message,
    );
    assert.ok(!result.message.includes('not-the-secret-99'));
  });

  it('names both master key ids, not invalid_client, when the secret was encrypted with another key, and asks nobody', async () => {
    const foreignKey = other.crypto.keyIds().master;
    assert.notEqual(foreignKey, master);
    await add('foreign', { 'client.secret': other.crypto.protect(SECRET) });
    const requests = provider.tokenRequests;
    const result = await oauth.check('foreign');
    assert.equal(result.status, 'critical');
    assert.equal(result.code, 'KEY_MISMATCH');
    assert.equal(result.secretKeyId, foreignKey);
    assert.equal(result.masterKeyId, master);
    assert.equal(
      result.message,
      `client.secret of foreign was encrypted with master key ${foreignKey}; this instance's master key is ${master}; restore the key (capsule keys import) or enter the secret again (capsule oauth add foreign --update --client-secret-stdin)`,
    );
    assert.equal(provider.tokenRequests, requests, 'no grant is tried with a secret that does not decrypt');
    await assert.rejects(oauth.getAccessToken('foreign'), (e) => isCapsuleError(e, 'KEY_MISMATCH') && e.message === result.message);
  });

  it('says a tampered secret does not decrypt', async () => {
    const value = services.crypto.protect(SECRET);
    const body = value.slice(value.lastIndexOf(':') + 1, -1);
    const flipped = Buffer.from(body, 'base64url');
    flipped[flipped.length - 1]! ^= 1;
    await add('tampered', { 'client.secret': value.replace(body, flipped.toString('base64url')) });
    const result = await oauth.check('tampered');
    assert.equal(result.code, 'PROTECTED_VALUE_INVALID');
    assert.match(result.message, /^client\.secret of tampered does not decrypt: .*tampered.*; enter the secret again/);
  });

  it('reports a provider that is down as a network error', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}/token`;
    await add('down', { 'token.endpoint': endpoint });
    const result = await oauth.check('down');
    assert.equal(result.status, 'critical');
    assert.equal(result.code, 'OAUTH_UNREACHABLE');
    assert.equal(result.httpStatus, null);
    assert.match(result.message, new RegExp(`^down: cannot reach token endpoint ${endpoint} \\(2 attempts\\): connect ECONNREFUSED`));
  });

  it('is critical, not thrown, for a name that has no configuration', async () => {
    const result = await oauth.check('absent');
    assert.equal(result.status, 'critical');
    assert.equal(result.code, 'CONFIG_NOT_FOUND');
  });

  it('refuses a configuration without endpoint, client id or secret, or with a bad endpoint or method', async () => {
    const pid = oauthClientPid('incomplete');
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ 'client.id': 'a', 'client.secret': 's' }, /token\.endpoint is required/],
      [{ 'token.endpoint': provider.tokenEndpoint, 'client.secret': 's' }, /client\.id is required/],
      [{ 'token.endpoint': provider.tokenEndpoint, 'client.id': 'a' }, /client\.secret is required/],
      [{ 'token.endpoint': 'ftp://example.com/token', 'client.id': 'a', 'client.secret': 's' }, /token\.endpoint: must be an http or https URL/],
      [{ 'token.endpoint': provider.tokenEndpoint, 'client.id': 'a', 'client.secret': 's', 'auth.method': 'private_key_jwt' }, /auth\.method/],
    ];
    for (const [values, message] of cases) {
      await assert.rejects(services.config.update(pid, values), (e) => isCapsuleError(e, 'INVALID_CONFIG') && message.test(e.message));
    }
    assert.equal(services.config.stored(pid), null);
  });
});
