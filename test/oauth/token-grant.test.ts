import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../src/clock.js';
import { isCapsuleError } from '../../src/errors.js';
import { createOAuthClients, OAuthTokenError, oauthClientPid, type OAuthClientsDeps } from '../../src/oauth/index.js';
import type { Services } from '../../src/instance/index.js';
import { startOAuthProvider, TOKEN_TTL_S, type TestProvider } from '../helpers/oauth-provider.js';
import { freePort } from '../helpers/ports.js';
import { keyedServices } from '../helpers/keyed-services.js';

const SECRET = 'right-secret-7f3c9a';

/** The real fetch, counted: what went out, and how often. */
function countingFetch() {
  const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    calls.push({ url: String(input), init });
    return globalThis.fetch(input, init);
  };
  return { fetch, calls };
}

function fast(fetch: typeof globalThis.fetch): OAuthClientsDeps['request'] {
  return { fetch, timeoutMs: 2_000, attempts: 3, backoffMs: 10 };
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, server };
}

describe('getAccessToken against a real provider', () => {
  let provider: TestProvider;
  let services: Services;
  before(async () => {
    provider = await startOAuthProvider([
      { clientId: 'svc', clientSecret: SECRET, scope: 'read' },
      { clientId: 'poster', clientSecret: 'post-secret-1234', authMethod: 'client_secret_post' },
    ]);
    services = await keyedServices();
  });
  after(async () => {
    await provider.close();
    await services.close();
  });

  it('gets a token the provider issued, and caches it: one grant for two calls', async () => {
    await services.config.update(oauthClientPid('svc'), {
      'token.endpoint': provider.tokenEndpoint,
      'client.id': 'svc',
      'client.secret': SECRET,
      scope: 'read',
    });
    const clock = fixedClock(Date.now());
    const counted = countingFetch();
    const oauth = createOAuthClients({ ...services, clock, request: fast(counted.fetch) });
    const grantsBefore = provider.grants;

    const [first, concurrent] = await Promise.all([oauth.getAccessToken('svc'), oauth.getAccessToken('svc')]);
    const second = await oauth.getAccessToken('svc');
    assert.equal(concurrent, first);
    assert.equal(second, first);
    assert.equal(provider.grants - grantsBefore, 1, 'one grant for three calls');
    assert.equal(counted.calls.length, 1);
    assert.deepEqual(await provider.lookup(first), { clientId: 'svc', scope: 'read' }, 'a token the provider knows');

    const details = await oauth.getToken('svc');
    assert.equal(details.tokenType, 'Bearer');
    assert.equal(details.expiresAt, clock.now() + TOKEN_TTL_S * 1000);

    // Shortly before expires_in (600 s, replaced 60 s early) a new grant is made.
    clock.advance((TOKEN_TTL_S - 61) * 1000);
    assert.equal(await oauth.getAccessToken('svc'), first);
    clock.advance(2_000);
    const renewed = await oauth.getAccessToken('svc');
    assert.notEqual(renewed, first);
    assert.equal(provider.grants - grantsBefore, 2);
  });

  it('sends client_secret_basic as a Basic header and client_secret_post in the body, with scope and audience', async () => {
    await services.config.update(oauthClientPid('poster'), {
      'token.endpoint': provider.tokenEndpoint,
      'client.id': 'poster',
      'client.secret': 'post-secret-1234',
      audience: 'https://api.example',
      'auth.method': 'client_secret_post',
    });
    const counted = countingFetch();
    const oauth = createOAuthClients({ ...services, request: fast(counted.fetch) });
    const token = await oauth.getAccessToken('poster');
    assert.equal((await provider.lookup(token))?.clientId, 'poster');
    const body = new URLSearchParams(String(counted.calls[0]?.init?.body));
    assert.equal(body.get('grant_type'), 'client_credentials');
    assert.equal(body.get('client_id'), 'poster');
    assert.equal(body.get('client_secret'), 'post-secret-1234');
    assert.equal(body.get('audience'), 'https://api.example');
    assert.equal((counted.calls[0]?.init?.headers as Record<string, string>).authorization, undefined);

    await oauth.getAccessToken('svc');
    const basic = counted.calls[1]!;
    assert.equal((basic.init?.headers as Record<string, string>).authorization, `Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`);
    assert.equal(new URLSearchParams(String(basic.init?.body)).get('client_secret'), null);
    assert.equal(new URLSearchParams(String(basic.init?.body)).get('scope'), 'read');
  });

  it('asks again when the configuration changes (a new secret is never answered from the cache)', async () => {
    const oauth = createOAuthClients({ ...services, request: fast(globalThis.fetch) });
    const first = await oauth.getAccessToken('svc');
    await services.config.update(oauthClientPid('svc'), { 'client.secret': 'now-a-wrong-secret' });
    await assert.rejects(oauth.getAccessToken('svc'), (e) => isCapsuleError(e, 'OAUTH_REJECTED'));
    await services.config.update(oauthClientPid('svc'), { 'client.secret': SECRET });
    assert.notEqual(await oauth.getAccessToken('svc'), first);
  });

  it('reports a wrong secret as the provider said it, with the HTTP status, asks once, and never shows the secret', async () => {
    await services.config.update(oauthClientPid('wrong'), {
      'token.endpoint': provider.tokenEndpoint,
      'client.id': 'svc',
      'client.secret': 'wrong-secret-d41d8c',
    });
    const counted = countingFetch();
    const oauth = createOAuthClients({ ...services, request: fast(counted.fetch) });
    const requestsBefore = provider.tokenRequests;
    const error = await oauth.getAccessToken('wrong').then(
      () => assert.fail('a wrong secret got a token'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof OAuthTokenError);
    assert.equal(error.code, 'OAUTH_REJECTED');
    assert.deepEqual(error.details, { httpStatus: 401, error: 'invalid_client', errorDescription: 'client authentication failed', attempts: 1 });
    assert.equal(
      error.message,
      `token endpoint ${provider.tokenEndpoint} answered HTTP 401: {"error":"invalid_client","error_description":"client authentication failed"}`,
    );
    assert.equal(provider.tokenRequests - requestsBefore, 1, 'a 4xx is never retried');
    assert.equal(counted.calls.length, 1);
    assert.ok(!error.message.includes('wrong-secret-d41d8c'));
  });

  it('does not know a name that is not configured', async () => {
    const oauth = createOAuthClients(services);
    await assert.rejects(oauth.getAccessToken('nobody'), (e) => isCapsuleError(e, 'CONFIG_NOT_FOUND') && /no OAuth client nobody/.test(e.message));
  });
});

describe('getAccessToken when the provider cannot answer', () => {
  let services: Services;
  before(async () => {
    services = await keyedServices();
  });
  after(() => services.close());

  it('retries a closed port with backoff, then names the endpoint and the network error', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}/token`;
    await services.config.update(oauthClientPid('down'), { 'token.endpoint': endpoint, 'client.id': 'svc', 'client.secret': SECRET });
    const counted = countingFetch();
    const oauth = createOAuthClients({ ...services, request: { fetch: counted.fetch, timeoutMs: 1_000, attempts: 3, backoffMs: 50 } });
    const started = Date.now();
    await assert.rejects(oauth.getAccessToken('down'), (e: unknown) => {
      assert.ok(e instanceof OAuthTokenError);
      assert.equal(e.code, 'OAUTH_UNREACHABLE');
      assert.equal(e.message, `cannot reach token endpoint ${endpoint} (3 attempts): connect ECONNREFUSED ${new URL(endpoint).host}`);
      assert.equal(e.details.attempts, 3);
      return true;
    });
    assert.equal(counted.calls.length, 3);
    assert.ok(Date.now() - started >= 150, 'waited 50 + 100 ms between attempts');
  });

  it('gives up on an endpoint that never answers after the timeout of each attempt', async () => {
    const { url } = await listen(() => undefined); // accepts, never answers
    await services.config.update(oauthClientPid('silent'), { 'token.endpoint': url, 'client.id': 'svc', 'client.secret': SECRET });
    const oauth = createOAuthClients({ ...services, request: { fetch: globalThis.fetch, timeoutMs: 200, attempts: 2, backoffMs: 10 } });
    await assert.rejects(oauth.getAccessToken('silent'), (e) => isCapsuleError(e, 'OAUTH_UNREACHABLE') && /\(2 attempts\): no answer within 0\.2 s$/.test(e.message));
  });

  it('does not retry an HTTP answer that is not a token response, and says what came back', async () => {
    let hits = 0;
    const { url } = await listen((_request, response) => {
      hits++;
      response.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
    });
    await services.config.update(oauthClientPid('html'), { 'token.endpoint': url, 'client.id': 'svc', 'client.secret': SECRET });
    const oauth = createOAuthClients({ ...services, request: fast(globalThis.fetch) });
    await assert.rejects(
      oauth.getAccessToken('html'),
      (e) => isCapsuleError(e, 'OAUTH_BAD_RESPONSE') && e.message === `token endpoint ${url} answered HTTP 502 without an OAuth error (text/html)`,
    );
    assert.equal(hits, 1);
  });

  it('refuses to follow a redirect with the credentials', async () => {
    let followed = 0;
    const target = await listen((_request, response) => {
      followed++;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"x","token_type":"Bearer"}');
    });
    const { url } = await listen((_request, response) => response.writeHead(307, { location: target.url }).end());
    await services.config.update(oauthClientPid('redirect'), { 'token.endpoint': url, 'client.id': 'svc', 'client.secret': SECRET });
    const oauth = createOAuthClients({ ...services, request: fast(globalThis.fetch) });
    await assert.rejects(oauth.getAccessToken('redirect'), (e) => isCapsuleError(e, 'OAUTH_BAD_RESPONSE') && /HTTP 307 .*a redirect to/.test(e.message));
    assert.equal(followed, 0);
  });
});
