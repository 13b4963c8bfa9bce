import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { HTTP_PID } from '../../src/http/index.js';
import { createLogger, startInstance, type RunningInstance } from '../../src/instance/index.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A request from a chosen loopback address (127.0.0.2 plays the load balancer). */
function send(from: string, url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; requestId: string | undefined }>((resolve, reject) => {
    const request = httpRequest(url, { method: options.method ?? 'GET', localAddress: from, headers: options.headers }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, requestId: response.headers['x-request-id'] as string | undefined }));
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

function failedLogin(from: string, url: string, requestId: string) {
  const body = 'j_username=mallory&j_password=guess';
  return send(from, `${url}/j_security_check`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length), 'x-request-id': requestId },
    body,
  });
}

describe('request ids', () => {
  let instance: RunningInstance;
  let log = '';
  const lines = () =>
    log
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => ({ raw: line, parsed: JSON.parse(line) as Record<string, unknown> }));

  before(async () => {
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
    instance = await startInstance({
      home: join(tempDir(), 'home'),
      port: 0,
      hasher: fastHasher,
      env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' },
      logger: createLogger({ destination, level: 'debug', pretty: false }),
    });
    await instance.services.config.update(HTTP_PID, { 'proxies.trusted': ['127.0.0.2'] });
  });
  after(() => instance.stop());

  it('makes a new id for every request and echoes it; ignores X-Request-Id from a peer that is not a trusted proxy', async () => {
    const first = await send('127.0.0.1', `${instance.url}/system/health/live`, { headers: { 'x-request-id': 'chosen-by-the-client' } });
    const second = await send('127.0.0.1', `${instance.url}/system/health/live`);
    assert.match(first.requestId ?? '', UUID);
    assert.match(second.requestId ?? '', UUID);
    assert.notEqual(first.requestId, second.requestId);
  });

  it("takes a trusted proxy's X-Request-Id, unless it is not a plain short id", async () => {
    assert.equal((await send('127.0.0.2', `${instance.url}/system/health/live`, { headers: { 'x-request-id': 'lb-7f3a' } })).requestId, 'lb-7f3a');
    assert.match((await send('127.0.0.2', `${instance.url}/system/health/live`, { headers: { 'x-request-id': 'two words' } })).requestId ?? '', UUID);
    assert.match((await send('127.0.0.2', `${instance.url}/system/health/live`, { headers: { 'x-request-id': 'x'.repeat(200) } })).requestId ?? '', UUID);
  });

  it("puts the id in every line the request writes, the token handler's and the audit trail's included, once", async () => {
    const viaProxy = await failedLogin('127.0.0.2', instance.url, 'lb-login-1');
    assert.equal(viaProxy.status, 401);
    assert.equal(viaProxy.requestId, 'lb-login-1');
    const direct = await failedLogin('127.0.0.1', instance.url, 'forged-by-client');
    assert.match(direct.requestId ?? '', UUID);

    await instance.services.users.createUser('dora', { password: 'dora-pw-correct-horse' });
    const login = await fetch(`${instance.url}/j_security_check`, { method: 'POST', body: new URLSearchParams({ j_username: 'dora', j_password: 'dora-pw-correct-horse' }) });
    const token = /login-token=([^;]+)/.exec(login.headers.getSetCookie().join('\n'))?.[1];
    assert.ok(token);
    await instance.services.users.setDisabled('dora', true);
    const refused = await fetch(`${instance.url}/api/session`, { headers: { 'login-token': token } });
    assert.equal(refused.status, 401);

    // A line of Fastify's own request logger (request.log) as well.
    const callback = await fetch(`${instance.url}/system/sling/oidc/callback?state=none&code=none`);
    await callback.arrayBuffer();

    const byId = (id: string | null | undefined) => lines().filter((line) => line.parsed.reqId === id);
    assert.deepEqual(byId('lb-login-1').map((line) => [line.parsed.name, line.parsed.event, line.parsed.outcome]), [['audit', 'login', 'failure']]);
    // A second failure of the same account within a second may lock it (Keycloak's quick-login check): that line carries the id too.
    assert.deepEqual(byId(direct.requestId).map((line) => [line.parsed.name, line.parsed.event]).filter(([, event]) => event !== 'account-locked'), [['audit', 'login']]);
    const refusedLines = byId(refused.headers.get('x-request-id'));
    assert.ok(refusedLines.some((line) => /valid token for dora, but dora is disabled/.test(String(line.parsed.msg))), "the token handler's own line");
    assert.ok(refusedLines.some((line) => line.parsed.event === 'token-refused'), "the audit trail's line");
    assert.ok(
      byId(callback.headers.get('x-request-id')).some((line) => line.parsed.msg === 'OpenID sign-in failed'),
      `request.log's line carries the id (${callback.status})`,
    );
    assert.ok(!log.includes('forged-by-client'));
    for (const line of lines()) assert.ok(line.raw.split('"reqId"').length <= 2, `reqId once: ${line.raw}`);
  });
});
