import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OAuthCheckResult } from '../../src/oauth/index.js';
import { jsonOf, runCliInProcess } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { startOAuthProvider, type TestProvider } from '../helpers/oauth-provider.js';
import { freePort } from '../helpers/ports.js';

const SECRET = 'cli-secret-0d9a7e';

interface ListedClient {
  name: string;
  tokenEndpoint: string;
  clientId: string;
  scope: string | null;
  authMethod: string;
  secret: { set: boolean; keyId: string | null; keyPresent: boolean | null };
}

describe('capsule oauth', () => {
  let provider: TestProvider;
  let home: string;
  let masterKey: string;
  before(async () => {
    provider = await startOAuthProvider([{ clientId: 'svc', clientSecret: SECRET, scope: 'read' }]);
    home = await initialisedHome();
    masterKey = jsonOf<{ master: { id: string } }>(await runCliInProcess(['keys', 'fingerprint', '--json', '--home', home])).master.id;
  });
  after(() => provider.close());

  const oauth = (args: string[], stdin?: string) => runCliInProcess(['oauth', ...args, '--home', home], { stdin });
  const add = (name: string, extra: string[] = [], secret = `${SECRET}\n`) =>
    oauth(['add', name, '--token-endpoint', provider.tokenEndpoint, '--client-id', 'svc', '--client-secret-stdin', ...extra], secret);

  it('adds a client with its secret from standard input, encrypted, and lists it without the secret', async () => {
    const added = await add('svc', ['--scope', 'read']);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.stdout.trim(), `added OAuth client svc (client secret encrypted with master key ${masterKey}); test it with 'capsule oauth check svc'`);

    const listed = await oauth(['list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(jsonOf<ListedClient[]>(listed).map(({ name, clientId, scope, authMethod, secret }) => ({ name, clientId, scope, authMethod, secret })), [
      { name: 'svc', clientId: 'svc', scope: 'read', authMethod: 'client_secret_basic', secret: { set: true, keyId: masterKey, keyPresent: true } },
    ]);
    const text = await oauth(['list']);
    assert.match(text.stdout, /^NAME\s+TOKEN ENDPOINT\s+CLIENT ID\s+SCOPE\s+AUTH METHOD\s+SECRET\n/);
    assert.match(text.stdout, new RegExp(`svc\\s+${provider.tokenEndpoint}\\s+svc\\s+read\\s+client_secret_basic\\s+set, master key ${masterKey}`));
    for (const result of [added, listed, text]) assert.ok(!(result.stdout + result.stderr).includes(SECRET));

    const config = await runCliInProcess(['config', 'get', 'capsule.oauth.client~svc', '--json', '--home', home]);
    assert.ok(!config.stdout.includes(SECRET), 'config get shows the protected value only');
  });

  it('checks a client with a real grant and prints a token the provider issued', async () => {
    const check = await oauth(['check', 'svc']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, new RegExp(`^ok +svc: token endpoint ${provider.tokenEndpoint} granted client 'svc' an access token`));
    const json = jsonOf<OAuthCheckResult[]>(await oauth(['check', '--json']));
    assert.deepEqual(json.map(({ name, status, code }) => ({ name, status, code })), [{ name: 'svc', status: 'ok', code: null }]);

    const token = await oauth(['token', 'svc']);
    assert.equal(token.code, 0, token.stderr);
    const value = token.stdout.trim();
    assert.deepEqual(await provider.lookup(value), { clientId: 'svc', scope: 'read' });
    assert.ok(!check.stdout.includes(value));
    const details = jsonOf<{ accessToken: string; tokenType: string; expiresAt: string; scope: string }>(await oauth(['token', 'svc', '--json']));
    assert.equal(details.tokenType, 'Bearer');
    assert.equal(details.scope, 'read');
    assert.ok(Date.parse(details.expiresAt) > Date.now());
    assert.ok(await provider.lookup(details.accessToken));
  });

  it('exits 1 with the provider\'s words when the secret is wrong, and 0 again once it is entered again', async () => {
    const updated = await oauth(['add', 'svc', '--update', '--client-secret-stdin'], 'wrong-secret\n');
    assert.equal(updated.code, 0, updated.stderr);
    assert.match(updated.stdout, /^updated OAuth client svc/);

    const check = await oauth(['check', 'svc']);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /^CRITICAL svc: .*answered HTTP 401: \{"error":"invalid_client","error_description":"client authentication failed"\}/);
    assert.equal(check.stderr.trim(), 'capsule: 1 of 1 OAuth client check failed');
    const json = await oauth(['check', 'svc', '--json']);
    assert.equal(json.code, 1);
    assert.deepEqual(
      jsonOf<OAuthCheckResult[]>(json).map(({ status, code, httpStatus, error, errorDescription }) => ({ status, code, httpStatus, error, errorDescription })),
      [{ status: 'critical', code: 'OAUTH_REJECTED', httpStatus: 401, error: 'invalid_client', errorDescription: 'client authentication failed' }],
    );

    const token = await oauth(['token', 'svc']);
    assert.equal(token.code, 1);
    assert.equal(token.stdout, '');
    assert.match(token.stderr, /^capsule: token endpoint .* answered HTTP 401: \{"error":"invalid_client",.*\}\n$/);
    for (const result of [check, json, token]) assert.ok(!(result.stdout + result.stderr).includes('wrong-secret'));

    assert.equal((await oauth(['add', 'svc', '--update', '--client-secret-stdin'], SECRET)).code, 0);
    assert.equal((await oauth(['check', 'svc'])).code, 0);
  });

  it('exits 1 with a clear network error when the provider is down', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}/token`;
    assert.equal((await oauth(['add', 'down', '--token-endpoint', endpoint, '--client-id', 'svc', '--client-secret-stdin'], SECRET)).code, 0);
    const token = await oauth(['token', 'down']);
    assert.equal(token.code, 1);
    assert.equal(token.stderr.trim().split('\n').length, 1);
    assert.match(token.stderr, new RegExp(`^capsule: cannot reach token endpoint ${endpoint} \\(3 attempts\\): connect ECONNREFUSED`));
    const check = await oauth(['check']);
    assert.equal(check.code, 1, 'one of two checks fails');
    assert.match(check.stdout, /^CRITICAL down: cannot reach/m);
    assert.match(check.stdout, /^ok +svc: /m);
    assert.equal(check.stderr.trim(), 'capsule: 1 of 2 OAuth client checks failed');
    assert.equal((await oauth(['remove', 'down'])).code, 0);
  });

  it('refuses bad input with one line and exit 2, and changes nothing', async () => {
    const before = (await oauth(['list', '--json'])).stdout;
    const endpoint = provider.tokenEndpoint;
    const cases: Array<[string[], string | undefined, RegExp]> = [
      [['add', 'new', '--client-id', 'a', '--client-secret-stdin'], SECRET, /give the token endpoint with --token-endpoint URL/],
      [['add', 'new', '--token-endpoint', endpoint, '--client-secret-stdin'], SECRET, /give the client id with --client-id ID/],
      [['add', 'new', '--token-endpoint', endpoint, '--client-id', 'a'], undefined, /--client-secret-stdin \(never as an argument\)/],
      [['add', 'new', '--token-endpoint', endpoint, '--client-id', 'a', '--client-secret-stdin'], '\n', /standard input held no client secret/],
      [['add', 'new', '--token-endpoint', 'not a url', '--client-id', 'a', '--client-secret-stdin'], SECRET, /--token-endpoint 'not a url' is not an http or https URL/],
      [['add', 'new', '--token-endpoint', 'file:///etc/passwd', '--client-id', 'a', '--client-secret-stdin'], SECRET, /is not an http or https URL/],
      [['add', 'new', '--token-endpoint', endpoint, '--client-id', 'a', '--client-secret-stdin', '--auth-method', 'none'], SECRET, /--auth-method 'none' is neither client_secret_basic nor client_secret_post/],
      [['add', 'a b', '--token-endpoint', endpoint, '--client-id', 'a', '--client-secret-stdin'], SECRET, /'a b' is not an OAuth client name/],
      [['add', 'svc', '--token-endpoint', endpoint, '--client-id', 'a', '--client-secret-stdin'], SECRET, /OAuth client svc exists; change it with --update/],
      [['add', 'absent', '--update', '--client-id', 'a'], undefined, /no OAuth client absent to update/],
      [['add', 'svc', '--update'], undefined, /nothing to update/],
      [['add', 'new', '--client-secret', SECRET], undefined, /unknown option '--client-secret'/],
      [['add'], undefined, /missing required argument 'name'/],
      [['check', 'absent'], undefined, /no OAuth client absent; 'capsule oauth list' shows them/],
      [['token', 'absent'], undefined, /no OAuth client absent/],
      [['remove', 'absent'], undefined, /no OAuth client absent; nothing to remove/],
      [['token'], undefined, /missing required argument 'name'/],
    ];
    const results = await Promise.all(cases.map(([args, stdin]) => oauth(args, stdin)));
    results.forEach((result, index) => {
      const [args, , message] = cases[index]!;
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
      assert.ok(!result.stderr.includes(SECRET));
    });
    assert.equal((await oauth(['list', '--json'])).stdout, before);
    const noHome = await runCliInProcess(['oauth', 'list', '--home', '/nonexistent/capsule-home']);
    assert.equal(noHome.code, 2);
    assert.match(noHome.stderr, /no Capsule home at \/nonexistent\/capsule-home/);
  });

  it('removes a client', async () => {
    assert.equal((await add('spare')).code, 0);
    const removed = await oauth(['remove', 'spare']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout.trim(), 'removed OAuth client spare');
    assert.deepEqual(jsonOf<ListedClient[]>(await oauth(['list', '--json'])).map((client) => client.name), ['svc']);
    assert.equal((await oauth(['remove', 'svc'])).code, 0);
    assert.equal((await oauth(['list'])).stdout.trim(), "no OAuth clients; add one with 'capsule oauth add'");
    const none = await oauth(['check']);
    assert.equal(none.code, 0);
  });

  it('explains every command with --help', async () => {
    const commands = [['oauth'], ['oauth', 'add'], ['oauth', 'list'], ['oauth', 'check'], ['oauth', 'token'], ['oauth', 'remove']];
    const results = await Promise.all(commands.map((command) => runCliInProcess([...command, '--help'])));
    results.forEach((result, index) => {
      const name = commands[index]!.join(' ');
      assert.equal(result.code, 0, name);
      assert.match(result.stdout, /^Usage: capsule oauth/, name);
      if (index > 0) assert.match(result.stdout, /--home <dir>/, name);
    });
    assert.match(results[1]!.stdout, /--client-secret-stdin/);
  });
});
