import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { startServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/temp.js';

// `capsule start --access-log` end to end: the option reaches the instance, whose standard output
// gets one JSON line per request (the fields are tested in test/http/access-log.test.ts).

it('capsule start --access-log writes a "request" line for a request', { timeout: 60_000 }, async () => {
  const server = await startServerProcess({ home: join(tempDir(), 'home'), args: ['--access-log'], env: { CAPSULE_ADMIN_PASSWORD: 'admin-password', CAPSULE_LOG_LEVEL: 'info' } });
  const response = await fetch(`${server.url}/system/health/live?probe=1`);
  await response.arrayBuffer();
  const requestId = response.headers.get('x-request-id');
  const lineOf = () =>
    server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.msg === 'request' && line.reqId === requestId);
  // Bounded wait on a condition no event announces: the line reaches the pipe after the answer.
  for (let attempt = 0; attempt < 200 && !lineOf(); attempt++) await new Promise((resolve) => setTimeout(resolve, 25));
  const line = lineOf();
  assert.ok(line, `a request line for ${requestId}:\n${server.output()}`);
  assert.deepEqual([line.method, line.path, line.status], ['GET', '/system/health/live', 200]);
  assert.equal(await server.stop(), 0);
});
