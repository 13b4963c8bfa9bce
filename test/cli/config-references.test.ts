import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OAuthCheckResult } from '../../src/oauth/index.js';
import { jsonOf, runCli } from '../helpers/cli.js';
import { snapshotHome } from '../helpers/home-snapshot.js';
import { initialisedHome } from '../helpers/homes.js';
import { startOAuthProvider, type TestProvider } from '../helpers/oauth-provider.js';

// A reference is stored from a shell that does not have the server's environment: a warning,
// never a failure after the write; a reference where it would not be resolved: refused, nothing stored.

const SECRET = 'ims-secret-7c1f';

describe('configuration references from the command line', () => {
  let provider: TestProvider;
  let home: string;
  before(async () => {
    provider = await startOAuthProvider([{ clientId: 'svc', clientSecret: SECRET }]);
    home = await initialisedHome();
  });
  after(() => provider.close());

  const cli = (args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}) => runCli([...args, '--home', home], options);

  it('stores a client secret reference to a variable this shell lacks with one warning, lists it as from that variable, and checks it where it is set', async () => {
    const added = await cli(['oauth', 'add', 'ims', '--token-endpoint', provider.tokenEndpoint, '--client-id', 'svc', '--client-secret-stdin'], { stdin: SECRET });
    assert.equal(added.code, 0, added.stderr);

    const set = await cli(['config', 'set', 'capsule.oauth.client~ims', 'client.secret=$[env:SECRET_IMS]']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'updated capsule.oauth.client~ims: client.secret\n');
    assert.equal(
      set.stderr,
      'warning: capsule.oauth.client~ims: client.secret references $[env:SECRET_IMS], which is not set in the environment here; stored anyway: the instance that uses it must have it (its environment, or CAPSULE_SECRETS_DIR)\n',
    );
    const json = jsonOf<{ values: Record<string, unknown>; warnings: string[] }>(await cli(['config', 'set', 'capsule.oauth.client~ims', 'client.secret=$[env:SECRET_IMS]', '--json']));
    assert.deepEqual(json.warnings, ['capsule.oauth.client~ims: client.secret references $[env:SECRET_IMS], which is not set in the environment']);
    assert.equal(json.values['client.secret'], '$[env:SECRET_IMS]');
    const quiet = await cli(['config', 'set', 'capsule.oauth.client~ims', 'client.secret=$[env:SECRET_IMS]'], { env: { SECRET_IMS: SECRET } });
    assert.deepEqual([quiet.code, quiet.stderr], [0, ''], 'no warning where the variable is set');

    const listed = await cli(['oauth', 'list']);
    assert.match(listed.stdout, /ims\s+.*from environment variable SECRET_IMS/);
    assert.doesNotMatch(listed.stdout, /in clear/);
    const [entry] = jsonOf<Array<{ secret: unknown }>>(await cli(['oauth', 'list', '--json']));
    assert.deepEqual(entry?.secret, { set: true, keyId: null, keyPresent: null, reference: 'environment variable SECRET_IMS' });

    const shown = await cli(['config', 'get', 'capsule.oauth.client~ims'], { env: { SECRET_IMS: SECRET } });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /client\.secret = \$\[env:SECRET_IMS\]/);
    assert.ok(!shown.stdout.includes(SECRET), 'a listing shows the reference, never what it resolves to');

    const checked = await cli(['oauth', 'check', 'ims', '--json'], { env: { SECRET_IMS: SECRET } });
    assert.equal(checked.code, 0, checked.stderr);
    const [result] = jsonOf<OAuthCheckResult[]>(checked);
    assert.equal(result?.status, 'ok', result?.message);
    assert.doesNotMatch(result!.message, /in clear/);

    const wrong = await cli(['oauth', 'check', 'ims', '--json'], { env: { SECRET_IMS: 'not-the-secret' } });
    assert.equal(wrong.code, 1);
    const [refused] = jsonOf<OAuthCheckResult[]>(wrong);
    assert.equal(refused?.error, 'invalid_client');
    assert.match(refused!.message, /; client\.secret comes from environment variable SECRET_IMS on this instance, so the provider does not accept client 'svc' with what that holds: check the client at the provider, or the value of environment variable SECRET_IMS$/);
    assert.doesNotMatch(refused!.message, /master key/, 'no key was involved');
    assert.ok(!refused!.message.includes('not-the-secret'));

    const unset = await cli(['oauth', 'check', 'ims']);
    assert.equal(unset.code, 1);
    assert.match(unset.stdout, /^CRITICAL client\.secret of ims references \$\[env:SECRET_IMS\], which is not set in the environment$/m);
  });

  it('stores a metrics scrape token reference with a warning, and shows it as written', async () => {
    const set = await cli(['config', 'set', 'capsule.metrics', 'scrape.token=$[env:SECRET_SCRAPE_TOKEN_UNSET]']);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stderr, /^warning: capsule\.metrics: scrape\.token references \$\[env:SECRET_SCRAPE_TOKEN_UNSET\], which is not set in the environment here; stored anyway/);
    const shown = await cli(['config', 'get', 'capsule.metrics']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /scrape\.token = \$\[env:SECRET_SCRAPE_TOKEN_UNSET\]/);
  });

  it('refuses a reference in an OpenID provider title, from oidc add and from config set, and stores nothing', async () => {
    const before = await snapshotHome(home);
    const added = await cli(['oidc', 'add', 'corp', '--issuer', provider.issuer, '--client-id', 'svc', '--client-secret-stdin', '--title', 'X $[env:UNSET_TITLE]'], { stdin: SECRET });
    assert.equal(added.code, 2);
    assert.equal(
      added.stderr,
      'capsule: capsule.auth.oidc~corp: title: does not accept a reference such as $[env:UNSET_TITLE]; only secret properties resolve references (here: client.secret); write the value itself\n',
    );
    const set = await cli(['config', 'set', 'capsule.auth.oidc~corp', `issuer=${provider.issuer}`, 'client.id=svc', 'client.secret=s', 'title=$[env:PGPASSWORD]'], { env: { PGPASSWORD: 'db-password-9e2' } });
    assert.equal(set.code, 2);
    assert.match(set.stderr, /title: does not accept a reference such as \$\[env:PGPASSWORD\]/);
    assert.ok(!set.stderr.includes('db-password-9e2'));
    assert.equal(await snapshotHome(home), before);
    assert.equal((await cli(['oidc', 'list'])).stdout, "no OpenID providers; add one with 'capsule oidc add'\n");
  });
});
