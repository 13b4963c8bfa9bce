import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { runCliInProcess } from '../helpers/cli.js';
import { login, postFormFrom } from '../helpers/http.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/temp.js';

// The audit trail of a real `capsule start` (its standard output, JSON lines) and of the CLI
// (`<home>/audit.log`): one line per event under the logger name `audit`, never a secret.

const ADMIN_PASSWORD = 'admin-pw-5e1f7a';
const ALICE_PASSWORD = 'alice-pw-93bd02';
const WRONG_PASSWORD = 'wrong-guess-77c1';
const CONSOLE_PASSWORD = 'console-set-pw-4410';

interface Line {
  name?: string;
  event?: string;
  [key: string]: unknown;
}

function linesOf(text: string): Line[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Line);
}

async function waitFor(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it('the audit log of a running instance', { timeout: 60_000 }, async (t) => {
  let home: string;
  let server: ServerProcess;
  const secrets: string[] = [ADMIN_PASSWORD, ALICE_PASSWORD, WRONG_PASSWORD, CONSOLE_PASSWORD];
  const audit = () => linesOf(server.output()).filter((line) => line.name === 'audit');

  home = join(tempDir(), 'home');
  server = await startServerProcess({ home, env: { CAPSULE_ADMIN_PASSWORD: ADMIN_PASSWORD, CAPSULE_LOG_LEVEL: 'info' } });
  const add = await runCliInProcess(['users', 'add', 'alice', '--password-stdin', '--home', home], { stdin: ALICE_PASSWORD });
  assert.equal(add.code, 0, add.stderr);

  await t.test('records logins (success, failure, throttled) with user and client address', async () => {
    secrets.push(await login(server.url, 'alice', ALICE_PASSWORD));
    // Thirty failures from one address (30 a minute, whatever the names) and the thirty-first is throttled.
    for (let i = 0; i < 31; i++) await postFormFrom('127.0.0.7', `${server.url}/j_security_check`, { j_username: `bob${i}`, j_password: WRONG_PASSWORD });
    await waitFor('the throttled login', () => audit().some((line) => line.outcome === 'throttled'));
    const logins = audit().filter((line) => line.event === 'login');
    assert.deepEqual(
      logins.map((line) => [line.outcome, line.userId, line.clientAddress]),
      [['success', 'alice', '127.0.0.1'], ...Array.from({ length: 30 }, (_, i) => ['failure', `bob${i}`, '127.0.0.7']), ['throttled', 'bob30', '127.0.0.7']],
    );
    assert.ok(logins.every((line) => typeof line.member === 'string' && line.member !== ''), 'every line names the member');
  });

  await t.test('records a refused token and why, logout-everywhere with who did it, and a console change', async () => {
    const token = await login(server.url, 'alice', ALICE_PASSWORD);
    secrets.push(token);
    const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    assert.equal((await fetch(`${server.url}/api/session`, { headers: { 'login-token': forged } })).status, 401);
    await waitFor('the refused token', () => audit().some((line) => line.event === 'token-refused'));
    // A stateful token (the default) with its secret changed; an encapsulated one would fail its signature.
    assert.equal(audit().find((line) => line.event === 'token-refused')?.reason, token.includes('.') ? 'bad signature' : 'wrong secret');

    const admin = await login(server.url, 'admin', ADMIN_PASSWORD);
    secrets.push(admin);
    const logout = await fetch(`${server.url}/api/users/alice/logout-everywhere`, { method: 'POST', headers: { 'login-token': admin } });
    assert.equal(logout.status, 200);
    await waitFor('logout-everywhere', () => audit().some((line) => line.event === 'logout-everywhere'));
    const everywhere = audit().find((line) => line.event === 'logout-everywhere')!;
    assert.deepEqual([everywhere.userId, everywhere.by, everywhere.clientAddress], ['alice', 'admin', '127.0.0.1']);

    const page = await (await fetch(`${server.url}/system/console/users`, { headers: { cookie: `login-token=${admin}` } })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
    assert.ok(csrf);
    const change = await fetch(`${server.url}/system/console/users`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: `login-token=${admin}`, 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: new URLSearchParams({ csrf, action: 'password', user: 'alice', password: CONSOLE_PASSWORD }),
    });
    assert.ok(change.status < 400, `console change answered ${change.status}`);
    await waitFor('the console change', () => audit().some((line) => line.event === 'console-change'));
    const consoleChange = audit().find((line) => line.event === 'console-change')!;
    assert.deepEqual(
      [consoleChange.by, consoleChange.clientAddress, consoleChange.page, consoleChange.action, consoleChange.user, consoleChange.outcome],
      ['admin', '127.0.0.1', '/system/console/users', 'password', 'alice', 'done'],
    );
  });

  await t.test('records a key reload (SIGHUP)', async () => {
    server.child.kill('SIGHUP');
    await waitFor('keys-reloaded', () => audit().some((line) => line.event === 'keys-reloaded'));
    const reload = audit().find((line) => line.event === 'keys-reloaded')!;
    assert.match(String(reload.hmac), /^[0-9a-f]+$/);
  });

  it("records the CLI's changes in <home>/audit.log (mode 0600), with the operator and without values", async () => {
    const set = await runCliInProcess(['config', 'set', 'capsule.health', 'interval.seconds=120', '--home', home]);
    assert.equal(set.code, 0, set.stderr);
    assert.equal((await runCliInProcess(['users', 'list', '--home', home])).code, 0); // read-only: not recorded
    const failed = await runCliInProcess(['users', 'add', 'alice', '--password-stdin', '--home', home], { stdin: 'again-correct-horse' });
    assert.notEqual(failed.code, 0);
    const file = join(home, 'audit.log');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const lines = linesOf(readFileSync(file, 'utf8'));
    assert.ok(lines.every((line) => line.name === 'audit' && line.event === 'cli-change'));
    assert.deepEqual(
      lines.map((line) => [line.command, line.args, line.outcome]),
      [
        ['users add', ['alice'], 'done'],
        ['config set', ['capsule.health', 'interval.seconds'], 'done'],
        ['users add', ['alice'], 'failed'],
      ],
    );
    assert.equal(typeof lines[0]!.user, 'string');

    // Keys leaving and arriving: recorded in both homes, the new one included.
    const bundle = join(tempDir(), 'keys.bundle');
    const passphrase = { CAPSULE_KEYS_PASSPHRASE: 'a long enough passphrase' };
    assert.equal((await runCliInProcess(['keys', 'export', '--out', bundle, '--home', home], { env: passphrase })).code, 0);
    const target = join(tempDir(), 'target');
    assert.equal((await runCliInProcess(['keys', 'import', '--in', bundle, '--home', target], { env: passphrase })).code, 0);
    assert.deepEqual(linesOf(readFileSync(file, 'utf8')).at(-1)?.command, 'keys export');
    assert.deepEqual(linesOf(readFileSync(join(target, 'audit.log'), 'utf8')).map((line) => [line.command, line.options, line.outcome]), [['keys import', ['in'], 'done']]);
    const typo = join(tempDir(), 'no-such-home');
    await runCliInProcess(['users', 'add', 'x', '--password-stdin', '--home', typo], { stdin: 'pw-correct-horse' });
    assert.equal(existsSync(typo), false, 'a mistyped home gets nothing');
    // The time and pid of a line are numbers that may hold '120' by chance; every other field may not.
    const fields = linesOf(readFileSync(file, 'utf8')).map(({ time: _time, pid: _pid, ...rest }) => rest);
    assert.ok(!JSON.stringify(fields).includes('120'), 'a value set is not recorded');
  });

  await t.test('never writes a password, token or cookie', () => {
    const everything = server.output() + readFileSync(join(home, 'audit.log'), 'utf8');
    for (const secret of secrets) assert.ok(!everything.includes(secret), `a secret (${secret.slice(0, 6)}…) is in the log`);
    assert.doesNotMatch(everything, /login-token=/);
  });
  await server.stop();
});
