import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { login, withToken } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { POSTGRES_PASSWORD, postgresOfItsOwn } from '../helpers/postgres.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/temp.js';

const ENV = { CAPSULE_ADMIN_PASSWORD: 'admin-password' };

async function eventually(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function session(url: string, token: string): Promise<{ status: number; code?: string; instance: string | null }> {
  const response = await fetch(`${url}/api/session`, withToken(token));
  const body = (await response.json().catch(() => ({}))) as { code?: string; error?: { code?: string } };
  return { status: response.status, code: body.code ?? body.error?.code, instance: response.headers.get('x-capsule-instance') };
}

/** Two instances on one new database: the first makes the keys in /etc/key, the second joins. */
async function twoInstances(url: string, pgEnv: NodeJS.ProcessEnv): Promise<[ServerProcess, ServerProcess]> {
  const a = await startServerProcess({ home: join(tempDir(), 'author-1'), args: ['--repository', url, '--key-storage', 'repository', '--name', 'author-1'], env: { ...ENV, ...pgEnv } });
  const b = await startServerProcess({ home: join(tempDir(), 'author-2'), args: ['--repository', url, '--name', 'author-2'], env: { ...ENV, ...pgEnv } });
  return [a, b];
}

describe('an author cluster when things fail', () => {
  const cluster = postgresOfItsOwn();

  it('answers 503 while PostgreSQL is away, does not crash, and recovers by itself', async () => {
    const pg = await cluster();
    const url = pg.url((await pg.createDatabase()).split('/').pop()!);
    const [a, b] = await twoInstances(url, pg.env);
    const token = await login(a.url, 'admin', 'admin-password');
    assert.equal((await session(b.url, token)).status, 200);
    // A token an instance has validated may be answered from its memory for up to 500 ms after the
    // last look at the change counters (by design); one it never saw needs the repository.
    const neverSeenBy = new Map([
      [a, await login(b.url, 'admin', 'admin-password')],
      [b, await login(a.url, 'admin', 'admin-password')],
    ]);

    await pg.stop();
    try {
      for (const instance of [a, b]) {
        for (let i = 0; i < 5; i++) {
          assert.deepEqual(await session(instance.url, neverSeenBy.get(instance)!), {
            status: 503,
            code: 'REPOSITORY_UNAVAILABLE',
            instance: instance === a ? 'author-1' : 'author-2',
          });
        }
      }
      assert.equal(a.child.exitCode, null, 'still running');
      assert.equal(b.child.exitCode, null, 'still running');
      // A password login meanwhile is 503, never 401, and is not counted as a failed login:
      // more than the 5 failures a user may have, then the right password works once it is back.
      for (let i = 0; i < 7; i++) {
        const refused = await fetch(`${a.url}/j_security_check`, { method: 'POST', body: new URLSearchParams({ j_username: 'admin', j_password: 'admin-password' }) });
        assert.equal(refused.status, 503, `login ${i} while the database is away`);
      }
    } finally {
      await pg.start();
    }
    await eventually('recovery on author-1', async () => (await session(a.url, token)).status === 200);
    await eventually('recovery on author-2', async () => (await session(b.url, token)).status === 200);
    assert.equal((await login(a.url, 'admin', 'admin-password')).length > 0, true, 'not throttled by the logins during the outage');
    // The change channel came back too: a user added through one is cached away on the other.
    await a.stop();
    await b.stop();
    for (const output of [a.output(), b.output()]) assert.ok(!output.includes(POSTGRES_PASSWORD), 'no password in the log');
    assert.match(a.output(), /cannot reach the repository on PostgreSQL \(host 127\.0\.0\.1, port \d+, database/);
  });

  it('loses no request behind HAProxy when one instance is killed, and a stateful token works on both', async (t) => {
    const pg = await cluster();
    const url = pg.url((await pg.createDatabase()).split('/').pop()!);
    const [a, b] = await twoInstances(url, pg.env);
    const token = await login(a.url, 'admin', 'admin-password');
    assert.equal((await session(b.url, token)).status, 200, 'a stateful token issued by one instance works on the other');

    const port = await freePort();
    const config = join(tempDir(), 'haproxy.cfg');
    writeFileSync(
      config,
      [
        'global',
        '    maxconn 1024',
        'defaults',
        '    mode http',
        '    timeout connect 2s',
        '    timeout client 30s',
        '    timeout server 30s',
        '    timeout check 2s',
        '    retries 3',
        '    option redispatch 1',
        '    retry-on conn-failure empty-response response-timeout',
        'frontend authors',
        `    bind 127.0.0.1:${port}`,
        '    default_backend authors',
        'backend authors',
        '    balance roundrobin',
        '    option httpchk GET /system/health/ready',
        '    http-check expect status 200',
        '    default-server inter 200ms fall 1 rise 1',
        `    server author-1 127.0.0.1:${a.port} check`,
        `    server author-2 127.0.0.1:${b.port} check`,
        '',
      ].join('\n'),
    );
    const haproxy = spawn('/usr/sbin/haproxy', ['-W', '-db', '-f', config], { stdio: 'ignore' });
    const haproxyExited = new Promise((resolve) => haproxy.on('exit', resolve));
    // SIGTERM: the master stops its workers too (a SIGKILLed master would leave them running).
    t.after(async () => {
      if (haproxy.exitCode === null && haproxy.signalCode === null) haproxy.kill('SIGTERM');
      await haproxyExited;
    });
    const lb = `http://127.0.0.1:${port}`;
    await eventually('HAProxy answering through both instances', async () => {
      const seen = new Set<string | null>();
      for (let i = 0; i < 4; i++) seen.add((await session(lb, token).catch(() => ({ instance: null }))).instance);
      return seen.has('author-1') && seen.has('author-2');
    });

    const failures: string[] = [];
    const answeredBy = { before: new Set<string>(), after: new Set<string>() };
    let killed = false;
    let afterKill = 0;
    const worker = async () => {
      while (afterKill < 300) {
        const answer = await session(lb, token).catch((error: Error) => ({ status: 0, code: error.message, instance: null }));
        if (answer.status !== 200) failures.push(`${answer.status} ${answer.code ?? ''}`);
        (killed ? answeredBy.after : answeredBy.before).add(answer.instance ?? '?');
        if (killed) afterKill++;
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await eventually('some requests on both', async () => answeredBy.before.has('author-1') && answeredBy.before.has('author-2'));
    a.child.kill('SIGKILL');
    killed = true;
    await Promise.all(workers);
    assert.deepEqual(failures, [], 'no request failed');
    assert.deepEqual([...answeredBy.after].filter((name) => name !== 'author-1'), ['author-2']);
    await b.stop();
  });
});
