import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newKeyExchange } from '../../src/member/index.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { OUTBOX_COUNTER } from '../../src/replication/index.js';
import { USERS_COUNTER } from '../../src/users/index.js';
import { login, sessionStatus } from '../helpers/http.js';
import { startTestInstance } from '../helpers/homes.js';
import { tempDir } from '../helpers/temp.js';

// The administrator's HTTP APIs (the farm's admin API, the key refresh, logout-everywhere), over
// real HTTP: a logged-in user who is not an administrator is refused on each, and nothing changed.

interface Answer {
  status: number;
  json: { error?: { code: string; message: string } } & Record<string, unknown>;
}

async function call(url: string, method: string, token: string, body?: object): Promise<Answer> {
  const response = await fetch(url, {
    method,
    headers: { 'login-token': token, ...(body && { 'content-type': 'application/json' }) },
    body: body && JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Answer['json'] };
}

/** Every file under the keys folder, by relative path, with a hash of its bytes. */
function keyFiles(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true }) as string[]) {
    const file = join(dir, entry);
    if (statSync(file).isFile()) files[entry] = createHash('sha256').update(readFileSync(file)).digest('hex');
  }
  return files;
}

describe('the administrator APIs refuse a logged-in user who is not an administrator, before acting', () => {
  let instance: RunningInstance;
  let home: string;
  let adminToken: string;
  let editorToken: string;
  before(async () => {
    home = join(tempDir(), 'home');
    instance = await startTestInstance(home);
    await instance.services.users.createUser('editor', { password: 'editor-pw-correct-horse' });
    await instance.services.users.createUser('other', { password: 'other-pw-correct-horse' });
    adminToken = await login(instance.url, 'admin', 'admin-password');
    editorToken = await login(instance.url, 'editor', 'editor-pw-correct-horse');
    // A lock an operator holds, that the editor then tries to release.
    assert.equal((await call(`${instance.url}/system/farm/lock`, 'POST', adminToken, { holder: 'operator', leaseMs: 600_000 })).status, 200);
  });
  after(() => instance.stop());

  async function state() {
    const { repo, users } = instance.services;
    const member = await call(`${instance.url}/system/farm/member`, 'GET', adminToken);
    assert.equal(member.status, 200);
    return {
      keyFiles: keyFiles(join(home, 'keys')),
      users: await users.listUsers(),
      usersCounter: await repo.readCounter(USERS_COUNTER),
      outboxHead: await repo.readCounter(OUTBOX_COUNTER),
      member: { ...member.json, replication: undefined },
      agents: (member.json.replication as { agents: unknown[] }).agents,
      adminSession: await sessionStatus(instance.url, adminToken),
    };
  }

  it('refuses every administrator route with 403, and nothing changed', async () => {
    const currentKid = instance.services.crypto.keyIds().hmac;
    // Each with a body the route would act on, so a route that acted first would show.
    const routes: Array<[string, string, object?]> = [
      ['GET', '/system/farm/member'],
      ['POST', '/system/farm/hmac/stage', {}],
      ['POST', '/system/farm/hmac/promote', { expectedKid: currentKid, keepPrevious: false }],
      ['POST', '/system/farm/lock', { holder: 'editor', leaseMs: 600_000 }],
      ['POST', '/system/farm/unlock', { holder: 'operator' }],
      ['POST', '/system/farm/users', { id: 'mallory', password: 'mallory-pw-correct-horse', groups: ['editors'] }],
      ['POST', '/system/farm/users/passwd', { id: 'editor', password: 'changed-pw-correct-horse' }],
      ['POST', '/system/farm/users/remove', { id: 'other' }],
      ['POST', '/system/farm/keys/export', { publicKey: newKeyExchange().publicKey }],
      ['POST', '/system/farm/agents', { name: 'publish-9', url: 'http://127.0.0.9:4503', transportUser: 'replicator', transportPassword: 'transport-pw' }],
      ['POST', '/system/console/crypto/refresh', {}],
      ['POST', '/api/users/admin/logout-everywhere', {}],
    ];
    const before = await state();
    for (const [method, path, body] of routes) {
      const answer = await call(`${instance.url}${path}`, method, editorToken, body);
      assert.equal(answer.status, 403, `${method} ${path}: ${JSON.stringify(answer.json)}`);
      assert.equal(answer.json.error?.code, 'FORBIDDEN', `${method} ${path}`);
      assert.equal(answer.json.error?.message, 'administrators only');
    }
    assert.deepEqual(await state(), before, 'nothing changed');
    await login(instance.url, 'editor', 'editor-pw-correct-horse');
    await login(instance.url, 'other', 'other-pw-correct-horse');
  });
});

describe('the farm key calls say why they refuse a key id', () => {
  let instance: RunningInstance;
  let home: string;
  let adminToken: string;
  before(async () => {
    home = join(tempDir(), 'home');
    instance = await startTestInstance(home);
    adminToken = await login(instance.url, 'admin', 'admin-password');
  });
  after(() => instance.stop());

  it('answers 409 KEY_MISSING with the message for a key id this member does not hold, or no staged key to promote', async () => {
    const before = keyFiles(join(home, 'keys'));
    const stage = await call(`${instance.url}/system/farm/hmac/stage`, 'POST', adminToken, { kid: 'ffffffffffffffff' });
    assert.equal(stage.status, 409, JSON.stringify(stage.json));
    assert.equal(stage.json.error?.code, 'KEY_MISSING');
    assert.match(stage.json.error?.message ?? '', /does not hold hmac ffffffffffffffff; nothing was changed/);
    const promote = await call(`${instance.url}/system/farm/hmac/promote`, 'POST', adminToken, { expectedKid: 'ffffffffffffffff' });
    assert.equal(promote.status, 409, JSON.stringify(promote.json));
    assert.equal(promote.json.error?.code, 'KEY_MISSING');
    assert.match(promote.json.error?.message ?? '', /there is no staged HMAC key to promote; nothing was changed/);
    assert.deepEqual(keyFiles(join(home, 'keys')), before, 'nothing changed');
  });
});
