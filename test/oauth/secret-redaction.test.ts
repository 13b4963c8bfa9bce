import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningInstance } from '../../src/instance/index.js';
import { oauthClientPid } from '../../src/oauth/index.js';
import { runCliInProcess } from '../helpers/cli.js';
import { startTestInstance } from '../helpers/homes.js';
import { login } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

// A secret with characters that every encoding changes: space, plus, slash, ampersand, percent, é.
const SECRET = 'Top s3cret+/&%é=x';
const CLIENT = 'svc';

/** Every form in which the secret travels or could come back. */
function forms(): string[] {
  const encoded = encodeURIComponent(SECRET);
  return [
    SECRET,
    encoded,
    encoded.toLowerCase(),
    new URLSearchParams({ s: SECRET }).toString().slice(2),
    Buffer.from(SECRET).toString('base64'),
    Buffer.from(`${CLIENT}:${encodeURIComponent(SECRET).replace(/%20/g, '+')}`).toString('base64'),
  ];
}

function assertNoSecret(text: string, where: string): void {
  for (const form of forms()) assert.ok(!text.includes(form), `${where} holds the secret as ${form}`);
}

/**
 * A misbehaving token endpoint that echoes what it received: the form body (client_secret_post)
 * and the Authorization header (client_secret_basic), raw and lower-cased, in its error.
 * oidc-provider never does this, so the test needs a server of its own.
 */
function startEchoingEndpoint(): Promise<Server> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const authorization = request.headers.authorization ?? '';
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          error: 'invalid_client',
          error_description: `bad credentials: body=${body} lower=${body.toLowerCase()} auth=${authorization} decoded=${decodeURIComponent(body.replace(/\+/g, ' '))}`,
        }),
      );
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('an OAuth client secret that a provider echoes back', () => {
  let endpoint: Server;
  let instance: RunningInstance;
  let tokenEndpoint: string;

  before(async () => {
    endpoint = await startEchoingEndpoint();
    tokenEndpoint = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/token`;
    instance = await startTestInstance(join(tempDir(), 'home'));
  });
  after(async () => {
    await instance.stop();
    endpoint.close();
  });

  for (const method of ['client_secret_post', 'client_secret_basic'] as const) {
    it(`is redacted in every form (${method}): health check, admin health JSON, console, oauth check`, async () => {
      const pid = oauthClientPid(CLIENT);
      await instance.services.config.update(pid, { 'token.endpoint': tokenEndpoint, 'client.id': CLIENT, 'client.secret': SECRET, 'auth.method': method });
      const summary = await instance.health.run(pid);
      const result = summary.checks.find((check) => check.name === pid)!;
      assert.equal(result.status, 'critical');
      assert.match(result.message, /invalid_client/, 'the provider\'s words are still shown');
      assert.match(result.message, /\[redacted\]/);
      assertNoSecret(JSON.stringify(result), 'the check result');

      const admin = await login(instance.url, 'admin', 'admin-password');
      const asAdmin = await (await fetch(`${instance.url}/system/health`, { headers: { 'login-token': admin } })).text();
      assert.match(asAdmin, /invalid_client/, 'administrators see the details');
      assertNoSecret(asAdmin, 'GET /system/health as admin');
      const page = await (await fetch(`${instance.url}/system/console/healthcheck`, { headers: { cookie: `login-token=${admin}` } })).text();
      assertNoSecret(decodeHtml(page), 'the console health page');

      const cli = await runCliInProcess(['oauth', 'check', CLIENT, '--home', instance.services.home.root]);
      assert.equal(cli.code, 1, cli.stderr);
      assertNoSecret(cli.stdout + cli.stderr, 'oauth check');
    });
  }

  it('shows anonymous visitors the overall status and check names only', async () => {
    const response = await fetch(`${instance.url}/system/health`);
    assert.equal(response.status, 503, 'a critical check still makes the instance unhealthy');
    const body = (await response.json()) as { status: string; checks: Array<Record<string, unknown>> };
    assert.equal(body.status, 'critical');
    assert.ok(body.checks.length >= 3);
    for (const check of body.checks) assert.deepEqual(Object.keys(check), ['name'], JSON.stringify(check));
    assert.ok(!JSON.stringify(body).includes('invalid_client'));
  });
});

function decodeHtml(text: string): string {
  return text.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'");
}
