import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEYS_ROOT, createAdminKeyStore, type AdminKeyStore } from '../../src/auth/index.js';
import { hashOfAdminKey, newAdminKey } from '../../src/crypto/index.js';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { capturedLogger } from '../helpers/logs.js';
import { login } from '../helpers/http.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

// Operators' API keys on a real instance over real HTTP: `Authorization: Bearer cap_ak_…` makes an
// administrator of the admin API scope alone, whatever happened to the admin password.

interface Line {
  name?: string;
  event?: string;
  [key: string]: unknown;
}

describe('admin API keys over HTTP', () => {
  let instance: RunningInstance;
  let lines: string[];
  let keys: AdminKeyStore;
  let key: string;
  let keyId: string;
  let editor: string;

  before(async () => {
    const captured = capturedLogger('debug');
    lines = captured.lines;
    instance = await startInstance({
      home: join(tempDir(), 'home'),
      port: 0,
      hasher: fastHasher,
      env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' },
      logger: captured.logger,
    });
    keys = createAdminKeyStore({ repo: instance.services.repo, clock: instance.services.clock });
    ({ key, info: { id: keyId } } = await keys.create('ops'));
    await instance.services.users.createUser('editor', { password: 'editor-pw-correct-horse' });
    editor = await login(instance.url, 'editor', 'editor-pw-correct-horse');
    await instance.services.repo.transaction(async (tx) => {
      await tx.addNode('/content/secret', { type: 'capsule:Content', properties: { title: 'Secret', allowedGroups: ['administrators'] } });
    });
  });
  after(() => instance.stop());

  const audit = (): Line[] => lines.map((line) => JSON.parse(line) as Line).filter((line) => line.name === 'audit');
  async function auditLine(match: (line: Line) => boolean): Promise<Line> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const found = audit().find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no such audit line in:\n${audit().map((line) => JSON.stringify(line)).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  const bearer = (value: string) => ({ authorization: `Bearer ${value}` });
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${instance.url}${path}`, { headers, redirect: 'manual' });
  const post = (path: string, headers: Record<string, string>, body: object) =>
    fetch(`${instance.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), redirect: 'manual' });

  it('a key is an administrator on the admin API: a farm call, and its use recorded by name', async () => {
    const response = await get('/system/farm/member', bearer(key));
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(((await response.json()) as { instance: string }).instance.length > 0, true);
    const line = await auditLine((entry) => entry.event === 'farm-member-read');
    assert.equal(line.by, 'admin-key:ops');
    assert.ok((await keys.list())[0]?.lastUsedAt, 'the last use is recorded');
  });

  it('works while the admin password login is throttled by failed logins', async () => {
    for (let i = 0; i < 6; i++) {
      const failed = await fetch(`${instance.url}/j_security_check`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'j_username=admin&j_password=wrong' });
      assert.notEqual(failed.status, 200);
    }
    await assert.rejects(login(instance.url, 'admin', 'admin-password'), /login of admin failed/, 'the right password is refused now');
    assert.equal((await get('/system/farm/member', bearer(key))).status, 200);
    const refreshed = await post('/system/console/crypto/refresh', bearer(key), {});
    assert.equal(refreshed.status, 200);
  });

  it('is nothing outside the admin API: not on the console, not on content, not a session', async () => {
    const console = await get('/system/console/configMgr', bearer(key));
    assert.notEqual(console.status, 200);
    assert.equal((await get('/content/secret.json', bearer(key))).status, 401, 'content an administrator may read is refused as to an anonymous caller');
    assert.equal((await get('/api/session', bearer(key))).status, 401);
    const loginWithKey = await fetch(`${instance.url}/j_security_check`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ j_username: 'admin', j_password: key }) });
    assert.notEqual(loginWithKey.status, 200);
  });

  it('a revoked key gets 401, audited by its id and never the key', async () => {
    const other = await keys.create('temp');
    assert.equal((await get('/system/farm/member', bearer(other.key))).status, 200);
    await keys.revoke('temp');
    const response = await get('/system/farm/member', bearer(other.key));
    assert.equal(response.status, 401);
    assert.ok(!(await response.text()).includes(other.key));
    const line = await auditLine((entry) => entry.event === 'admin-key-refused' && entry.keyId === other.info.id);
    assert.equal(line.reason, 'no such key (revoked or never made)');
    assert.equal(line.path, '/system/farm/member');
  });

  it('an expired key gets 401, audited', async () => {
    const expired = newAdminKey();
    const id = expired.slice(7, 23);
    await keys.install({ id, name: 'expired', keyHash: hashOfAdminKey(expired), expiresAt: new Date(instance.services.clock.now() - 1) });
    assert.equal((await get('/system/farm/member', bearer(expired))).status, 401);
    assert.equal((await auditLine((entry) => entry.event === 'admin-key-refused' && entry.keyId === id)).reason, 'expired');
  });

  it('a wrong secret for a known id gets 401 and changes nothing', async () => {
    const forged = `${key.slice(0, 24)}${newAdminKey().slice(24)}`;
    const response = await post('/system/farm/lock', bearer(forged), { holder: 'x', leaseMs: 60_000 });
    assert.equal(response.status, 401);
    assert.equal(await instance.services.repo.getNode('/var/farm/lock'), null);
    assert.equal((await auditLine((entry) => entry.event === 'admin-key-refused' && entry.reason === 'wrong secret')).keyId, keyId);
  });

  it('a logged-in user who is no administrator cannot install, list or revoke keys, and nothing changes', async () => {
    const before = await instance.services.repo.getChildren(ADMIN_KEYS_ROOT);
    const stranger = newAdminKey();
    const install = await post('/system/farm/admin-keys', { 'login-token': editor }, { id: stranger.slice(7, 23), name: 'mine', keyHash: hashOfAdminKey(stranger), expiresAt: null });
    assert.equal(install.status, 403);
    assert.equal((await get('/system/farm/admin-keys', { 'login-token': editor })).status, 403);
    assert.equal((await post('/system/farm/admin-keys/revoke', { 'login-token': editor }, { nameOrId: 'ops' })).status, 403);
    assert.deepEqual(await instance.services.repo.getChildren(ADMIN_KEYS_ROOT), before);
    assert.equal((await get('/system/farm/member', bearer(stranger))).status, 401);
  });

  it('an administrator (here: with a key) installs and revokes over the admin API, audited; the list never holds a key or its hash', async () => {
    const made = newAdminKey();
    const id = made.slice(7, 23);
    const install = await post('/system/farm/admin-keys', bearer(key), { id, name: 'second', keyHash: hashOfAdminKey(made), expiresAt: null });
    assert.equal(install.status, 200, await install.clone().text());
    assert.equal((await get('/system/farm/member', bearer(made))).status, 200);
    const listed = await (await get('/system/farm/admin-keys', bearer(key))).text();
    assert.match(listed, /"name":"second"/);
    assert.ok(!listed.includes(hashOfAdminKey(made)) && !listed.includes(made) && !listed.includes(key));
    assert.equal((await auditLine((entry) => entry.event === 'admin-key-created' && entry.keyId === id)).by, 'admin-key:ops');
    assert.equal((await post('/system/farm/admin-keys/revoke', bearer(key), { nameOrId: 'second' })).status, 200);
    assert.equal((await auditLine((entry) => entry.event === 'admin-key-revoked' && entry.keyId === id)).by, 'admin-key:ops');
    assert.equal((await get('/system/farm/member', bearer(made))).status, 401);
  });

  it('no log line holds a key', () => {
    assert.ok(lines.length > 0);
    for (const line of lines) assert.ok(!line.includes(key) && !line.includes(key.slice(24)), line);
  });
});
