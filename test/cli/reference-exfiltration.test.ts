import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CONFIG_COUNTER, CONFIG_ROOT } from '../../src/config/index.js';
import { openServices } from '../../src/instance/index.js';
import type { OAuthCheckResult } from '../../src/oauth/index.js';
import { jsonOf, runCli } from '../helpers/cli.js';
import { snapshotHome } from '../helpers/home-snapshot.js';
import { initialisedHome } from '../helpers/homes.js';
import { systemClock } from '../../src/clock.js';

// Whoever may write a client secret chooses where it is sent (the token endpoint). A reference
// naming one of Capsule's own variables, or any variable outside the reference prefix, would send
// the keys passphrase or the database password there: refused when written, and not resolved when
// used (stored by an older version), so nothing reaches the endpoint.

const PASSPHRASE = 'keys-passphrase-5d0c2e';
const DB_PASSWORD = 'db-password-a41f77';
const ALLOWED = 'allowed-secret-9b3e';
const SERVER_ENV = { CAPSULE_KEYS_PASSPHRASE: PASSPHRASE, PGPASSWORD: DB_PASSWORD, CLOUD_TOKEN: 'cloud-token-e5', SECRET_EVIL: ALLOWED };

/** A token endpoint that keeps every request it receives, as raw text with its Basic credentials decoded. */
async function startCatcher(): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      requests.push(`${JSON.stringify(request.headers)}\n${basic ? Buffer.from(basic, 'base64').toString('utf8') : ''}\n${decodeURIComponent(body)}`);
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, requests };
}

describe('references that would send the server environment to an endpoint the writer chose', () => {
  let catcher: Awaited<ReturnType<typeof startCatcher>>;
  let home: string;
  before(async () => {
    catcher = await startCatcher();
    home = await initialisedHome();
  });
  after(() => new Promise<void>((resolve) => catcher.server.close(() => resolve())));

  const cli = (args: string[], stdin?: string) => runCli([...args, '--home', home], { stdin, env: SERVER_ENV });
  const leaked = () => catcher.requests.filter((text) => [PASSPHRASE, DB_PASSWORD, 'cloud-token-e5'].some((value) => text.includes(value)));

  it('refuses a client secret naming CAPSULE_*, PG* or a variable outside the prefix, from oauth add and config set, and stores nothing', async () => {
    const before = await snapshotHome(home);
    const cases: Array<[string, RegExp]> = [
      ['$[env:CAPSULE_KEYS_PASSPHRASE]', /references \$\[env:CAPSULE_KEYS_PASSPHRASE\], one of Capsule's own or PostgreSQL's variables/],
      ['$[env:PGPASSWORD]', /references \$\[env:PGPASSWORD\], one of Capsule's own or PostgreSQL's variables/],
      ['$[env:CLOUD_TOKEN]', /references \$\[env:CLOUD_TOKEN\], which does not begin with SECRET_ \(CAPSULE_REFERENCE_PREFIX\)/],
    ];
    for (const [reference, message] of cases) {
      const added = await cli(['oauth', 'add', 'evil', '--token-endpoint', catcher.url, '--client-id', 'c', '--client-secret-stdin'], reference);
      assert.equal(added.code, 2, added.stdout);
      assert.match(added.stderr, message);
      const set = await cli(['config', 'set', 'capsule.oauth.client~evil', `token.endpoint=${catcher.url}`, 'client.id=c', `client.secret=${reference}`]);
      assert.equal(set.code, 2, set.stdout);
      assert.match(set.stderr, message);
      for (const output of [added.stderr, set.stderr]) assert.ok(![PASSPHRASE, DB_PASSWORD, 'cloud-token-e5'].some((value) => output.includes(value)));
    }
    const prefixed = await runCli(['oauth', 'add', 'evil', '--token-endpoint', catcher.url, '--client-id', 'c', '--client-secret-stdin', '--home', home], {
      stdin: '$[env:CAPSULE_KEYS_PASSPHRASE]',
      env: { ...SERVER_ENV, CAPSULE_REFERENCE_PREFIX: 'CAPSULE_' },
    });
    assert.equal(prefixed.code, 2, 'a prefix that covers Capsule’s own variables does not open them');
    assert.equal(await snapshotHome(home), before);
    assert.equal((await cli(['oauth', 'list'])).stdout.includes('evil'), false);
    assert.equal(catcher.requests.length, 0, 'no request reached the endpoint');
  });

  it('does not resolve such a reference stored by an older version: the check fails closed, naming it, and the endpoint receives nothing', async () => {
    const services = await openServices({ home, clock: systemClock });
    try {
      await services.repo.transaction(async (tx) => {
        await tx.addNode(`${CONFIG_ROOT}/capsule.oauth.client~evil`, {
          type: 'capsule:Configuration',
          properties: { 'token.endpoint': catcher.url, 'client.id': 'c', 'client.secret': '$[env:CAPSULE_KEYS_PASSPHRASE]' },
        });
        await tx.bumpCounter(CONFIG_COUNTER);
      });
    } finally {
      await services.close();
    }
    const checked = await cli(['oauth', 'check', 'evil', '--json']);
    assert.equal(checked.code, 1, checked.stderr);
    const [result] = jsonOf<OAuthCheckResult[]>(checked);
    assert.equal(result?.status, 'critical');
    assert.match(result!.message, /^client\.secret of evil references \$\[env:CAPSULE_KEYS_PASSPHRASE\], one of Capsule's own or PostgreSQL's variables/);
    assert.equal((await cli(['oauth', 'token', 'evil'])).code === 0, false);
    assert.equal(catcher.requests.length, 0, 'no request reached the endpoint');

    // The catcher does see a secret that may be referenced: what the refusal keeps away would arrive.
    const allowed = await cli(['config', 'set', 'capsule.oauth.client~evil', 'client.secret=$[env:SECRET_EVIL]']);
    assert.equal(allowed.code, 0, allowed.stderr);
    await cli(['oauth', 'check', 'evil']);
    assert.ok(catcher.requests.some((text) => text.includes(ALLOWED)), 'the control secret reached the catcher');
    assert.deepEqual(leaked(), []);
  });
});
