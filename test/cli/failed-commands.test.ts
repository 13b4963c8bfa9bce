import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { runCliInProcess } from '../helpers/cli.js';
import { snapshotHome } from '../helpers/home-snapshot.js';
import { initialisedHome } from '../helpers/homes.js';

// A command that writes configuration and fails after its arguments were read (a value the
// schema refuses, a reference where none is resolved, a name that exists or does not) changes
// nothing: every file of the home and every configuration are as they were.

const SECRET = 'kept-secret-5b0e';

describe('a configuration command that fails changes nothing', () => {
  let home: string;
  before(async () => {
    home = await initialisedHome();
    const setUp: Array<[string[], string?]> = [
      [['oauth', 'add', 'ims', '--token-endpoint', 'https://ims.example/token', '--client-id', 'svc', '--client-secret-stdin'], SECRET],
      [['oidc', 'add', 'corp', '--issuer', 'https://idp.example', '--client-id', 'capsule', '--client-secret-stdin', '--title', 'Corporate'], SECRET],
      [['replication', 'add-agent', 'publish-1', '--url', 'http://127.0.0.1:9', '--transport-user', 'replicator', '--transport-password-stdin', '--disabled'], SECRET],
      [['config', 'set', 'capsule.auth.token', 'token.expiration=600000']],
      [['config', 'set', 'capsule.metrics', 'scrape.token=scrape-me']],
    ];
    for (const [args, stdin] of setUp) {
      const result = await runCliInProcess([...args, '--home', home], { stdin });
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    }
  });

  async function assertFailsAndChangesNothing(args: string[], message: RegExp, stdin?: string): Promise<void> {
    const before = await snapshotHome(home);
    const result = await runCliInProcess([...args, '--home', home], { stdin, env: { UNSET_VARIABLE: undefined } });
    assert.notEqual(result.code, 0, `${args.join(' ')} should fail: ${result.stdout}`);
    assert.match(result.stderr, message, args.join(' '));
    assert.equal(await snapshotHome(home), before, `${args.join(' ')} changed the home`);
  }

  it('config set: a value the schema refuses, a reference outside a secret, an unknown property or PID', async () => {
    await assertFailsAndChangesNothing(['config', 'set', 'capsule.oauth.client~ims', 'client.secret=$[env:SECRET_UNSET_VARIABLE]', 'token.endpoint=not-a-url'], /token\.endpoint/);
    await assertFailsAndChangesNothing(['config', 'set', 'capsule.auth.token', 'token.cookie.name=$[env:UNSET_VARIABLE]'], /token\.cookie\.name: does not accept a reference/);
    await assertFailsAndChangesNothing(['config', 'set', 'capsule.auth.token', 'token.refresh=false', 'token.expiration=soon'], /token\.expiration/);
    await assertFailsAndChangesNothing(['config', 'set', 'capsule.metrics', 'scrape.token=other', 'scrape.typo=1'], /unknown property 'scrape\.typo'/);
    await assertFailsAndChangesNothing(['config', 'set', 'capsule.auth.oidc~corp', 'title=Sign in $[secret:title]'], /title: does not accept a reference/);
    await assertFailsAndChangesNothing(['config', 'set', 'org.example.thing', 'colour=$[env:UNSET_VARIABLE]', '--force'], /colour: does not accept a reference/);
    await assertFailsAndChangesNothing(['config', 'set', 'capsule.auth.tokn', 'token.refresh=false'], /no component has the PID/);
  });

  it('config delete: a configuration that is not stored', async () => {
    await assertFailsAndChangesNothing(['config', 'delete', 'capsule.auth.oidc~absent'], /nothing to delete/);
  });

  it('oauth add and remove: a reference outside the secret, a name that exists, an update or removal of none', async () => {
    await assertFailsAndChangesNothing(['oauth', 'add', 'ims', '--update', '--scope', '$[env:UNSET_VARIABLE]', '--client-secret-stdin'], /scope: does not accept a reference/, 'new-secret');
    await assertFailsAndChangesNothing(['oauth', 'add', 'new', '--token-endpoint', 'https://x.example/token', '--client-id', 'a', '--audience', '$[env:UNSET_VARIABLE]', '--client-secret-stdin'], /audience: does not accept a reference/, 'new-secret');
    await assertFailsAndChangesNothing(['oauth', 'add', 'ims', '--token-endpoint', 'https://x.example/token', '--client-id', 'a', '--client-secret-stdin'], /exists; change it with --update/, 'new-secret');
    await assertFailsAndChangesNothing(['oauth', 'add', 'absent', '--update', '--client-secret-stdin'], /no OAuth client absent to update/, 'new-secret');
    await assertFailsAndChangesNothing(['oauth', 'remove', 'absent'], /nothing to remove/);
  });

  it('oidc add and remove: a reference in the title, a name that exists, an update or removal of none', async () => {
    await assertFailsAndChangesNothing(['oidc', 'add', 'corp', '--update', '--title', 'X $[env:UNSET_VARIABLE]', '--client-secret-stdin'], /title: does not accept a reference/, 'new-secret');
    await assertFailsAndChangesNothing(['oidc', 'add', 'other', '--issuer', 'https://idp.example', '--client-id', 'c', '--client-secret-stdin', '--title', 'X $[env:UNSET_VARIABLE]'], /title: does not accept a reference/, 'new-secret');
    await assertFailsAndChangesNothing(['oidc', 'add', 'corp', '--issuer', 'https://idp.example', '--client-id', 'c', '--client-secret-stdin'], /exists; change it with --update/, 'new-secret');
    await assertFailsAndChangesNothing(['oidc', 'add', 'absent', '--update', '--title', 'T'], /no OpenID provider absent to update/);
    await assertFailsAndChangesNothing(['oidc', 'remove', 'absent'], /nothing to remove/);
  });

  it('replication add-agent: a reference outside the password, a name that exists', async () => {
    await assertFailsAndChangesNothing(
      ['replication', 'add-agent', 'publish-2', '--url', 'http://127.0.0.1:9', '--transport-user', '$[env:UNSET_VARIABLE]', '--transport-password-stdin'],
      /transport\.user: does not accept a reference/,
      SECRET,
    );
    await assertFailsAndChangesNothing(['replication', 'add-agent', 'publish-1', '--url', 'http://127.0.0.1:9', '--transport-user', 'r', '--transport-password-stdin'], /exists/, SECRET);
  });
});
