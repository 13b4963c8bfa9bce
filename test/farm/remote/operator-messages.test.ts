import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adminCredentials, memberClient } from '../../../src/farm/remote/index.js';
import type { RunningInstance } from '../../../src/instance/index.js';
import { runCli } from '../../helpers/cli.js';
import { startTestInstance } from '../../helpers/homes.js';
import { tempDir } from '../../helpers/temp.js';

// Issue 28's farm messages: each says what happened and what to do, and a refused command changes nothing.

function manifest(members: ReadonlyArray<{ name: string; role: string; url: string }>): string {
  const file = join(tempDir(), 'farm.json');
  writeFileSync(file, JSON.stringify({ format: 'capsule-farm/2', members }));
  return file;
}

const twoMembers = () =>
  manifest([
    { name: 'author', role: 'author', url: 'http://127.0.0.2:4502' },
    { name: 'publish-1', role: 'publish', url: 'http://127.0.0.3:4502' },
  ]);

describe('farm messages an operator meets on the first day', () => {
  it('refuses a manifest whose two members have the same URL, naming both', async () => {
    const file = manifest([
      { name: 'author', role: 'author', url: 'http://127.0.0.2:4502' },
      { name: 'publish-1', role: 'publish', url: 'http://127.0.0.3:4502' },
      { name: 'publish-2', role: 'publish', url: 'http://127.0.0.3:4502/' },
    ]);
    const result = await runCli(['farm', 'haproxy-config', '--manifest', file]);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, '', 'no configuration printed');
    assert.match(result.stderr, /publish-1 and publish-2 have the same URL http:\/\/127\.0\.0\.3:4502; give each member its own/);
  });

  it('refuses a manifest member URL carrying user:password@, without printing the password', async () => {
    const file = manifest([{ name: 'author', role: 'author', url: 'http://admin:hunter2-secret@127.0.0.2:4502' }]);
    const result = await runCli(['farm', 'haproxy-config', '--manifest', file]);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /without user:password@/);
    assert.ok(!result.stderr.includes('hunter2-secret'), 'the password is not printed');
  });

  it('refuses --bind without a port, writing nothing', async () => {
    const out = join(tempDir(), 'haproxy.cfg');
    for (const bind of ['0.0.0.0', '127.0.0.1:', '[::]', '127.0.0.1:70000']) {
      const result = await runCli(['farm', 'haproxy-config', '--manifest', twoMembers(), '--bind', bind, '--out', out]);
      assert.equal(result.code, 2, `${bind}: ${result.stderr}`);
      assert.equal(result.stderr.trim(), `capsule: --bind '${bind}': --bind needs ADDRESS:PORT (e.g. 0.0.0.0:8080, or [::]:8080 for IPv6); nothing was written`);
    }
    assert.deepEqual(readdirSync(join(out, '..')), [], 'nothing written');
    const accepted = await runCli(['farm', 'haproxy-config', '--manifest', twoMembers(), '--bind', '0.0.0.0:8080']);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stdout, /^ {4}bind 0\.0\.0\.0:8080$/m);
  });

  it('checks the configuration with haproxy -c before it replaces the old one; a refused one changes nothing and shows why', async () => {
    const dir = tempDir();
    const out = join(dir, 'haproxy.cfg');
    writeFileSync(out, '# the configuration that works\n');
    // HAProxy refuses a check interval of 0; nothing before it does.
    const refused = await runCli(['farm', 'haproxy-config', '--manifest', twoMembers(), '--check-interval', '0', '--out', out]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, new RegExp(`haproxy refuses ${out}: \\[${out}:\\d+\\] : invalid value 0 for argument 'inter'.*; ${out} was left as it was`));
    assert.equal(readFileSync(out, 'utf8'), '# the configuration that works\n');
    assert.deepEqual(readdirSync(dir), ['haproxy.cfg'], 'no temp file left');

    const written = await runCli(['farm', 'haproxy-config', '--manifest', twoMembers(), '--out', out]);
    assert.equal(written.code, 0, written.stderr);
    assert.equal(written.stderr.trim(), `wrote ${out} (haproxy -c: valid)`);
    assert.match(readFileSync(out, 'utf8'), /^backend publish$/m);
    assert.deepEqual(readdirSync(dir), ['haproxy.cfg']);
  });

  describe('a member limiting sign-in attempts', () => {
    let instance: RunningInstance;
    before(async () => {
      instance = await startTestInstance(join(tempDir(), 'home'));
    });
    after(() => instance?.stop());

    it('says the member is limiting sign-in attempts, when to retry, and that an API key avoids it; not "check the password"', async () => {
      // 30 failures a minute from one address: then the member answers 429 with Retry-After, even to the right password.
      for (let i = 0; i < 30; i++) {
        const wrong = await fetch(`${instance.url}/j_security_check`, { method: 'POST', body: new URLSearchParams({ j_username: `nobody-${i}`, j_password: 'wrong' }) });
        assert.equal(wrong.status, 401);
      }
      const member = { name: 'publish-1', role: 'publish' as const, url: instance.url };
      const client = memberClient(member, adminCredentials({ env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' } }));
      await assert.rejects(client.get('/system/farm/member'), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'TOO_MANY_REQUESTS');
        assert.match(
          error.message,
          new RegExp(
            `^publish-1 \\(${instance.url.replace(/\./g, '\\.')}\\) is limiting sign-in attempts \\(HTTP 429\\); retry in \\d+ s, or sign in with an admin API key, which no failed login can lock out \\('capsule farm admin-keys create NAME', then --api-key-file FILE\\); nothing was changed there$`,
          ),
        );
        assert.doesNotMatch(error.message, /check/i);
        return true;
      });
    });
  });
});
