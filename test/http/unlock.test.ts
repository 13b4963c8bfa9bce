import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { jsonOf, runCliInProcess } from '../helpers/cli.js';
import { login } from '../helpers/http.js';
import { capturedLogger } from '../helpers/logs.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';


interface Line {
  name?: string;
  event?: string;
  [key: string]: unknown;
}

async function lockOut(instance: RunningInstance, user: string): Promise<void> {
  for (let i = 0; i < 10; i++) await instance.tokens.checkPassword(user, `guess-${i}`, `10.9.0.${i}`);
  assert.equal((await instance.tokens.checkPassword(user, `${user}-pw-correct-horse`, '10.9.1.1')).ok, false, `${user} is locked`);
}

describe('unlock: POST /api/users/:id/unlock in the admin API scope', () => {
  let instance: RunningInstance;
  let lines: string[];
  let admin: string;
  let editor: string;
  const audit = (): Line[] => lines.map((line) => JSON.parse(line) as Line).filter((line) => line.name === 'audit');

  before(async () => {
    const captured = capturedLogger('info');
    lines = captured.lines;
    instance = await startInstance({ home: join(tempDir(), 'home'), port: 0, hasher: fastHasher, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' }, logger: captured.logger, name: 'author-1' });
    for (const user of ['editor', 'alice']) await instance.services.users.createUser(user, { password: `${user}-pw-correct-horse` });
    admin = await login(instance.url, 'admin', 'admin-password');
    editor = await login(instance.url, 'editor', 'editor-pw-correct-horse');
  });
  after(() => instance.stop());

  const unlock = (id: string, token: string | null) =>
    fetch(`${instance.url}/api/users/${id}/unlock`, { method: 'POST', headers: token ? { 'login-token': token } : {} });

  it('refuses a logged-in user who is not an administrator, and an anonymous caller, before acting: the account stays locked', async () => {
    await lockOut(instance, 'alice');
    const before = await instance.bruteForce.status('alice');
    const refused = await unlock('alice', editor);
    assert.equal(refused.status, 403);
    assert.equal((await unlock('alice', null)).status, 401);
    assert.deepEqual(await instance.bruteForce.status('alice'), before, 'nothing changed');
    assert.equal((await instance.tokens.checkPassword('alice', 'alice-pw-correct-horse', '10.9.1.2')).ok, false, 'still locked');
    assert.equal(audit().filter((line) => line.event === 'account-unlocked').length, 0);
  });

  it('an administrator unlocks: the account signs in at once, and the unlock is audited with whom and where', async () => {
    const response = await unlock('alice', admin);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { userId: 'alice', unlocked: true, hadFailures: true });
    assert.equal((await instance.tokens.checkPassword('alice', 'alice-pw-correct-horse', '10.9.1.3')).ok, true);
    const line = audit().find((entry) => entry.event === 'account-unlocked');
    assert.equal(line?.userId, 'alice');
    assert.equal(line?.by, 'admin');
    assert.equal(line?.member, 'author-1');
    assert.equal(line?.clientAddress, '127.0.0.1');
  });
});

describe('capsule users unlock ID', () => {
  it('forgets the failures kept in the home: the account signs in after the next start', async () => {
    const home = join(tempDir(), 'home');
    const options = { home, port: 0, hasher: fastHasher, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' } };
    const first = await startInstance(options);
    await first.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
    await lockOut(first, 'alice');
    await first.stop();

    const result = await runCliInProcess(['users', 'unlock', 'alice', '--home', home, '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(jsonOf(result), { id: 'alice', unlocked: true, hadFailures: true });
    const again = await runCliInProcess(['users', 'unlock', 'alice', '--home', home]);
    assert.match(again.stdout, /alice had no failed logins to forget/);

    const second = await startInstance(options);
    try {
      assert.equal((await second.tokens.checkPassword('alice', 'alice-pw-correct-horse', '10.9.1.4')).ok, true);
    } finally {
      await second.stop();
    }
  });
});
