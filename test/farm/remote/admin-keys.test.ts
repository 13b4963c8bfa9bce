import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { jsonOf } from '../../helpers/cli.js';
import { startRemoteFarm, type RemoteFarm } from '../../helpers/remote-farm.js';
import { tempDir } from '../../helpers/temp.js';

// `capsule farm admin-keys` and the farm commands signing in with a key, against real members on
// 127.0.0.2 and 127.0.0.3 (an author and a publish, each with its own repository).

let farm: RemoteFarm;

async function failAdminLogins(url: string): Promise<void> {
  for (let i = 0; i < 6; i++) {
    const response = await fetch(`${url}/j_security_check`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'j_username=admin&j_password=guess' });
    await response.arrayBuffer();
  }
}

describe('farm commands with an operator API key', () => {
  before(async () => {
    farm = await startRemoteFarm(2);
  });

  it('a key made for the farm works on every member while admin is locked out by failed logins; revoked, it works nowhere', async () => {
    const created = await farm.cli(['farm', 'admin-keys', 'create', 'ops', '--manifest', 'farm.json']);
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    assert.match(key, /^cap_ak_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.match(created.stderr, /created admin API key ops \(id [0-9a-f]{16}\) on author, publish-1; it is shown this once/);
    const keyFile = join(tempDir('capsule-operator-keys-'), 'ops.key'); // its own folder: the work folder's parent is the shared tmp
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });

    for (const member of farm.members) await failAdminLogins(member.url);
    const withPassword = await farm.cli(['farm', 'status', '--manifest', 'farm.json']);
    assert.equal(withPassword.code, 2, 'the admin password is throttled on the members');
    assert.match(withPassword.stderr, /refused the login of admin/);

    const withKey = await farm.cli(['farm', 'status', '--manifest', 'farm.json', '--api-key-file', keyFile]);
    assert.equal(withKey.code, 0, withKey.stderr);
    assert.match(withKey.stdout, /farm green/);
    const fromEnv = await farm.cli(['farm', 'admin-keys', 'list', '--manifest', 'farm.json', '--json'], { CAPSULE_ADMIN_API_KEY: key });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    const listed = jsonOf<Array<{ member: string; keys: Array<{ name: string; lastUsedAt: string | null }> }>>(fromEnv);
    assert.deepEqual(listed.map((entry) => [entry.member, entry.keys.map((k) => k.name)]), [['author', ['ops']], ['publish-1', ['ops']]]);
    assert.ok(listed.every((entry) => entry.keys[0]!.lastUsedAt !== null));
    assert.ok(!fromEnv.stdout.includes(key.slice(24)));

    const revoked = await farm.cli(['farm', 'admin-keys', 'revoke', 'ops', '--manifest', 'farm.json', '--api-key-file', keyFile]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /revoked admin API key ops on author, publish-1/);
    const after = await farm.cli(['farm', 'status', '--manifest', 'farm.json', '--api-key-file', keyFile]);
    assert.equal(after.code, 2);
    assert.match(after.stderr, /refused the admin API key \(HTTP 401/);
    assert.equal(after.stderr.trim().split('\n').length, 1);
    for (const output of [after.stderr, after.stdout, created.stderr, ...farm.members.map((member) => member.output)]) assert.ok(!output.includes(key.slice(24)), 'no output holds the key');
  });

  it('refuses a key file others can read, and a file that holds no key, without repeating it', async () => {
    const file = join(tempDir('capsule-operator-keys-'), 'bad.key');
    writeFileSync(file, 'cap_ak_not-a-key-at-all\n', { mode: 0o644 });
    chmodSync(file, 0o644);
    const open = await farm.cli(['farm', 'status', '--manifest', 'farm.json', '--api-key-file', file]);
    assert.equal(open.code, 2);
    assert.match(open.stderr, /readable by others.*chmod 600/);
    chmodSync(file, 0o600);
    const malformed = await farm.cli(['farm', 'status', '--manifest', 'farm.json', '--api-key-file', file]);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /holds no admin API key/);
    assert.ok(!malformed.stderr.includes('not-a-key-at-all'));
  });
});
