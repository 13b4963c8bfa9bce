import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkNewPassword, DEFAULT_PASSWORD_POLICY } from '../../src/users/index.js';
import { runCli, jsonOf } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { startServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/temp.js';

describe('capsule start', () => {
  it('creates a home on first start, answers health with its name, and stops cleanly on SIGTERM', async () => {
    const home = join(tempDir(), 'home');
    const server = await startServerProcess({ home, args: ['--name', 'publish-1'] });
    const response = await fetch(`${server.url}/system/health`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-capsule-instance'), 'publish-1');
    const body = (await response.json()) as { status: string; instance: string; checks: Array<{ name: string }> };
    assert.equal(body.instance, 'publish-1');
    assert.ok(['ok', 'warn'].includes(body.status));
    assert.ok(body.checks.some((check) => check.name === 'repository'));

    const missing = await fetch(`${server.url}/no/such/thing`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('x-capsule-instance'), 'publish-1');
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');

    assert.ok(existsSync(join(home, 'repository', 'repository.sqlite')));
    const passwordFile = join(home, 'initial-admin-password');
    assert.equal(statSync(passwordFile).mode & 0o777, 0o600);
    const password = readFileSync(passwordFile, 'utf8').trim();
    assert.ok(password.length >= 20);
    assert.equal(await checkNewPassword(password, DEFAULT_PASSWORD_POLICY), password, 'the generated password meets the password policy');
    assert.ok(!server.output().includes(password), 'the password is never logged');
    assert.match(server.output(), /initial-admin-password/);

    assert.equal(await server.stop('SIGTERM'), 0);
    assert.match(server.output(), /instance stopped/);

    const users = await runCli(['users', 'list', '--json', '--home', home]);
    assert.equal(users.code, 0, users.stderr);
    assert.deepEqual(jsonOf(users), { users: [{ id: 'admin', groups: ['administrators'], disabled: false, generation: 0 }], next: null });

    // A second start keeps the admin and its password.
    const again = await startServerProcess({ home });
    assert.equal(readFileSync(passwordFile, 'utf8').trim(), password);
    assert.equal(await again.stop('SIGINT'), 0);
  });

  it('uses CAPSULE_ADMIN_PASSWORD and then writes no password file', async () => {
    const home = join(tempDir(), 'home');
    const server = await startServerProcess({ home, env: { CAPSULE_ADMIN_PASSWORD: 'chosen-by-operator' } });
    assert.equal(existsSync(join(home, 'initial-admin-password')), false);
    assert.ok(!server.output().includes('chosen-by-operator'));
    assert.equal(await server.stop(), 0);
  });

  it('refuses a CAPSULE_ADMIN_PASSWORD the password policy refuses, with exit 2, naming the variable and not the password, creating no home', async () => {
    const home = join(tempDir(), 'home');
    for (const [password, rule] of [['short-pw', /^capsule: CAPSULE_ADMIN_PASSWORD: the password is shorter than 12 characters\n$/], ['Administrator', /^capsule: CAPSULE_ADMIN_PASSWORD: the password is one of the most common passwords/]] as const) {
      const result = await runCli(['start', '--home', home, '--port', String(await freePort())], { env: { CAPSULE_ADMIN_PASSWORD: password } });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, rule);
      assert.ok(!(result.stdout + result.stderr).includes(password));
      assert.equal(existsSync(home), false);
    }
  });

  it('takes the port from CAPSULE_PORT', async () => {
    const home = join(tempDir(), 'home');
    const port = await freePort();
    const server = await startServerProcess({ home, port, portFromEnv: true });
    // The helper passes no --port here; what follows is the server's own account of where it listens.
    const response = await fetch(`http://127.0.0.1:${port}/system/health`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-capsule-instance'), `127.0.0.1:${port}`, 'the default name is host:port of the port it took');
    assert.equal(((await response.json()) as { instance: string }).instance, `127.0.0.1:${port}`);
    assert.equal(await server.stop(), 0);
  });

  it('refuses a bad port with one line and exit 2, creating nothing', async () => {
    const home = join(tempDir(), 'home');
    for (const port of ['0', '70000', 'http', '-1']) {
      const result = await runCli(['start', '--home', home, '--port', port]);
      assert.equal(result.code, 2, port);
      assert.match(result.stderr, /^capsule: invalid port .*1 to 65535\n$/);
    }
    const fromEnv = await runCli(['start', '--home', home], { env: { CAPSULE_PORT: '99999' } });
    assert.equal(fromEnv.code, 2);
    assert.match(fromEnv.stderr, /CAPSULE_PORT/);
    assert.equal(existsSync(home), false);
  });

  it('says so when the port is taken', async () => {
    const first = await startServerProcess({ home: join(tempDir(), 'a') });
    const result = await runCli(['start', '--home', join(tempDir(), 'b'), '--port', String(first.port)]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /port \d+ .*in use/);
    await first.stop();
  });
});
