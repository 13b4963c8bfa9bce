import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OidcCheckResult } from '../../../src/auth/oidc/index.js';
import { openServices } from '../../../src/instance/index.js';
import { jsonOf, runCliInProcess } from '../../helpers/cli.js';
import { initialisedHome } from '../../helpers/homes.js';
import { startLoginProvider, type LoginProvider } from '../../helpers/oidc-login-provider.js';
import { freePort } from '../../helpers/ports.js';
import { systemClock } from '../../../src/clock.js';

interface ListedProvider {
  name: string;
  title: string;
  issuer: string;
  clientId: string;
  groupMap: Record<string, string>;
  defaultGroups: string[];
  secret: { set: boolean; keyId: string | null; keyPresent: boolean | null };
}

describe('capsule oidc', () => {
  let provider: LoginProvider;
  let home: string;
  let masterKey: string;
  before(async () => {
    provider = await startLoginProvider({ redirectUris: ['http://127.0.0.1:4502/system/sling/oidc/callback'] });
    home = await initialisedHome();
    masterKey = jsonOf<{ master: { id: string } }>(await runCliInProcess(['keys', 'fingerprint', '--json', '--home', home])).master.id;
  });
  after(() => provider.close());

  const oidc = (args: string[], stdin?: string) => runCliInProcess(['oidc', ...args, '--home', home], { stdin });

  it('adds a provider with its secret from standard input, encrypted with the master key, and never shows the secret', async () => {
    const added = await oidc(
      ['add', 'corp', '--issuer', provider.issuer, '--client-id', provider.clientId, '--client-secret-stdin', '--title', 'Corporate login', '--group-map', 'idp-editors=editors', '--default-group', 'staff'],
      `${provider.clientSecret}\n`,
    );
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.stdout.trim(), `added OpenID provider corp (client secret encrypted with master key ${masterKey}); test it with 'capsule oidc check corp'`);

    const listed = await oidc(['list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(!listed.stdout.includes(provider.clientSecret));
    const [entry] = jsonOf<ListedProvider[]>(listed);
    assert.equal(entry?.title, 'Corporate login');
    assert.deepEqual(entry?.groupMap, { 'idp-editors': 'editors' });
    assert.deepEqual(entry?.defaultGroups, ['staff']);
    assert.deepEqual(entry?.secret, { set: true, keyId: masterKey, keyPresent: true });
    const table = await oidc(['list']);
    assert.match(table.stdout, /corp\s+Corporate login/);
    assert.ok(!table.stdout.includes(provider.clientSecret));

    const services = await openServices({ home, clock: systemClock });
    try {
      const stored = services.config.stored('capsule.auth.oidc~corp');
      assert.match(String(stored?.['client.secret']), /^\{cap1:/, 'stored protected, never in clear');
    } finally {
      await services.close();
    }
  });

  it('checks discovery, the provider keys and the secret against the real provider', async () => {
    const checked = await oidc(['check', 'corp', '--json']);
    assert.equal(checked.code, 0, checked.stderr);
    const [result] = jsonOf<OidcCheckResult[]>(checked);
    assert.equal(result?.status, 'ok');
    assert.match(result!.message, /discovery at http:\/\/127\.0\.0\.2:\d+ ok, 1 signing key loaded, client secret decrypts/);
  });

  it('fails the check with exit 1 and the cause when the provider cannot be reached', async () => {
    const port = await freePort();
    const added = await oidc(['add', 'gone', '--issuer', `http://127.0.0.1:${port}`, '--client-id', 'x', '--client-secret-stdin'], 'some-secret');
    assert.equal(added.code, 0, added.stderr);
    const checked = await oidc(['check', 'gone']);
    assert.equal(checked.code, 1);
    assert.match(checked.stdout, new RegExp(`CRITICAL gone: discovery at http://127\\.0\\.0\\.1:${port}/\\.well-known/openid-configuration failed`));
    assert.match(checked.stderr, /1 of 1 OpenID provider check failed/);
    assert.ok(!checked.stdout.includes('some-secret'));
    assert.equal((await oidc(['remove', 'gone'])).code, 0);
  });

  it('refuses bad input with one line and exit 2', async () => {
    const noSecret = await oidc(['add', 'x', '--issuer', provider.issuer, '--client-id', 'c']);
    assert.equal(noSecret.code, 2);
    assert.equal(noSecret.stderr.trim(), 'capsule: pass the client secret on standard input with --client-secret-stdin (never as an argument)');
    const badMap = await oidc(['add', 'x', '--issuer', provider.issuer, '--client-id', 'c', '--client-secret-stdin', '--group-map', 'editors'], 's');
    assert.equal(badMap.code, 2);
    assert.match(badMap.stderr, /group map entry 'editors' is not 'provider-group=capsule-group'/);
    const badIssuer = await oidc(['add', 'x', '--issuer', 'ftp://example', '--client-id', 'c', '--client-secret-stdin'], 's');
    assert.equal(badIssuer.code, 2);
    assert.equal((await oidc(['check', 'nosuch'])).code, 2);
    assert.equal((await oidc(['remove', 'nosuch'])).code, 2);
  });

  it('removes a provider', async () => {
    assert.equal((await oidc(['remove', 'corp'])).code, 0);
    assert.equal(jsonOf<unknown[]>(await oidc(['list', '--json'])).length, 0);
  });
});
