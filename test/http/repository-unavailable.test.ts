import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startInstance } from '../../src/instance/index.js';
import { login, withToken } from '../helpers/http.js';
import { capturedLogger } from '../helpers/logs.js';
import { POSTGRES_PASSWORD, postgresInstalled, startPostgres } from '../helpers/postgres.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

// An author on PostgreSQL when PostgreSQL goes away: readiness follows what requests see. The
// first request the repository fails takes the instance out of readiness (it stayed 200 until
// the next scheduled check, a minute by default), requests read why (not "internal error"), and
// readiness comes back as soon as PostgreSQL answers again.

const MESSAGE = 'repository unavailable: this instance cannot use its repository now (unreachable, or too busy); try again shortly';

async function ready(url: string): Promise<{ status: number; body: { status?: string; checks?: { name: string }[] } }> {
  const response = await fetch(`${url}/system/health/ready`);
  return { status: response.status, body: (await response.json()) as { status?: string; checks?: { name: string }[] } };
}

describe('readiness and answers while the repository is away (postgres)', { skip: !postgresInstalled && 'PostgreSQL 15 is not installed' }, () => {
  it('answers 503 "repository unavailable", is not ready from the first such answer, and is ready again once PostgreSQL is back', { timeout: 120_000 }, async (t) => {
    // A cluster of this test's own: it is stopped and started again here.
    const pg = await startPostgres();
    after(() => pg.stop());
    const database = new URL(await pg.createDatabase()).pathname.slice(1);
    const instance = await startInstance({
      home: join(tempDir(), 'author'),
      port: 0,
      hasher: fastHasher,
      logger: capturedLogger('info').logger,
      repositoryUrl: pg.url(database),
      env: { CAPSULE_ADMIN_PASSWORD: 'admin-password', ...pg.env },
    });
    t.after(() => instance.stop());
    await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
    const adminToken = await login(instance.url, 'admin', 'admin-password');
    assert.equal((await ready(instance.url)).status, 200);

    await pg.stop();

    const refused = await fetch(`${instance.url}/j_security_check`, { method: 'POST', body: new URLSearchParams({ j_username: 'alice', j_password: 'alice-pw-correct-horse' }) });
    const text = await refused.text();
    assert.equal(refused.status, 503, text);
    assert.deepEqual(JSON.parse(text), { error: { code: 'REPOSITORY_UNAVAILABLE', message: MESSAGE } });
    for (const detail of [String(pg.port), database, POSTGRES_PASSWORD]) assert.ok(!text.includes(detail), `the answer does not name ${detail}`);

    const notReady = await ready(instance.url);
    assert.equal(notReady.status, 503, 'not ready from the first request the repository failed');
    assert.equal(notReady.body.status, 'critical');

    const page = await fetch(`${instance.url}/system/console/components`, withToken(adminToken));
    const html = await page.text();
    assert.equal(page.status, 503);
    assert.match(html, /Repository unavailable/);
    assert.ok(html.includes(MESSAGE), 'the console page says why');
    assert.ok(!html.includes(String(pg.port)), 'the console page does not name where the repository is');

    await pg.start();
    // Bounded wait on a condition no event announces: each probe pings the repository again.
    let answer = await ready(instance.url);
    for (let attempt = 0; attempt < 300 && answer.status !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      answer = await ready(instance.url);
    }
    assert.equal(answer.status, 200, 'ready again once PostgreSQL answers');
    assert.equal((await fetch(`${instance.url}/j_security_check`, { method: 'POST', body: new URLSearchParams({ j_username: 'alice', j_password: 'alice-pw-correct-horse' }) })).status, 200);
  });
});
