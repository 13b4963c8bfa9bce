import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger, startInstance, type RunningInstance } from '../../src/instance/index.js';
import { login } from '../helpers/http.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

// `capsule start --access-log`: one JSON line per request, message "request", with what an
// operator needs to follow a request and nothing that could sign anyone in.

const QUERY_SECRET = 'code-5f1e9a77c2';
const BEARER_SECRET = 'cap_ak_bearer-9d0c31e4';

async function instanceWithLog(accessLog: boolean): Promise<{ instance: RunningInstance; lines: () => Record<string, unknown>[]; raw: () => string }> {
  let log = '';
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  const instance = await startInstance({
    home: join(tempDir(), 'home'),
    port: 0,
    hasher: fastHasher,
    env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' },
    logger: createLogger({ destination, level: 'info', pretty: false }),
    accessLog,
  });
  const lines = () =>
    log
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { instance, lines, raw: () => log };
}

/** The access lines of one request, found by the id it was answered with. */
function accessLinesOf(lines: Record<string, unknown>[], requestId: string | null): Record<string, unknown>[] {
  return lines.filter((line) => line.msg === 'request' && line.reqId === requestId);
}

/** Waits until `count` lines carry the id: the line is written as the answer completes, not before the client reads it. */
async function waitForLines(read: () => Record<string, unknown>[], requestId: string | null, count: number): Promise<void> {
  for (let attempt = 0; attempt < 200 && accessLinesOf(read(), requestId).length < count; attempt++) await new Promise((resolve) => setImmediate(resolve));
}

describe('access log', () => {
  describe('turned on', () => {
    let on: Awaited<ReturnType<typeof instanceWithLog>>;
    before(async () => (on = await instanceWithLog(true)));
    after(() => on.instance.stop());

    it('writes one line per request with method, path without the query, status, ms, request id and client; no secret', async () => {
      const token = await login(on.instance.url, 'admin', 'admin-password');
      const response = await fetch(`${on.instance.url}/api/session?code=${QUERY_SECRET}&state=s`, {
        headers: { cookie: `login-token=${token}`, authorization: `Bearer ${BEARER_SECRET}` },
      });
      assert.equal(response.status, 200);
      const requestId = response.headers.get('x-request-id');
      await waitForLines(on.lines, requestId, 1);
      const lines = accessLinesOf(on.lines(), requestId);
      assert.equal(lines.length, 1, 'exactly one line for the request');
      const [line] = lines;
      assert.equal(line!.method, 'GET');
      assert.equal(line!.path, '/api/session');
      assert.equal(line!.status, 200);
      assert.equal(typeof line!.ms, 'number');
      assert.ok((line!.ms as number) >= 0);
      assert.equal(line!.client, '127.0.0.1');
      for (const secret of [QUERY_SECRET, BEARER_SECRET, token, 'admin-password']) assert.ok(!on.raw().includes(secret), `the log never holds ${secret.slice(0, 8)}…`);
    });

    it('logs refusals and unknown paths too, with their status', async () => {
      const response = await fetch(`${on.instance.url}/no/such/path?token=${QUERY_SECRET}`);
      assert.equal(response.status, 404);
      const requestId = response.headers.get('x-request-id');
      await waitForLines(on.lines, requestId, 1);
      assert.deepEqual(
        accessLinesOf(on.lines(), requestId).map((line) => [line.method, line.path, line.status]),
        [['GET', '/no/such/path', 404]],
      );
      assert.ok(!on.raw().includes(QUERY_SECRET));
    });
  });

  describe('turned off (the default)', () => {
    let off: Awaited<ReturnType<typeof instanceWithLog>>;
    before(async () => (off = await instanceWithLog(false)));
    after(() => off.instance.stop());

    it('writes no line for requests', async () => {
      const responses = [await fetch(`${off.instance.url}/system/health/live`), await fetch(`${off.instance.url}/no/such/path`)];
      for (const response of responses) await response.arrayBuffer();
      // The line would be written when the answer completed; a request after it completes later still.
      const last = await fetch(`${off.instance.url}/system/health/live`);
      await last.arrayBuffer();
      assert.deepEqual(off.lines().filter((line) => line.msg === 'request'), []);
    });
  });
});
