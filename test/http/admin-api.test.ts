import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FARM_LOCK_NODE } from '../../src/member/index.js';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { capturedLogger } from '../helpers/logs.js';
import { login, sessionStatus, withToken } from '../helpers/http.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

// The JSON admin API (/system/farm/*, the key refresh, logout-everywhere) is one scope: one administrator guard
// before the body is read, one hook that records every refused call in the audit trail.

interface Line {
  name?: string;
  event?: string;
  [key: string]: unknown;
}

describe('the admin API scope', () => {
  let instance: RunningInstance;
  let lines: string[];
  let admin: string;
  let editor: string;

  before(async () => {
    const captured = capturedLogger('info');
    lines = captured.lines;
    instance = await startInstance({
      home: join(tempDir(), 'home'),
      port: 0,
      hasher: fastHasher,
      env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' },
      logger: captured.logger,
    });
    await instance.services.users.createUser('editor', { password: 'editor-pw-correct-horse' });
    admin = await login(instance.url, 'admin', 'admin-password');
    editor = await login(instance.url, 'editor', 'editor-pw-correct-horse');
  });
  after(() => instance.stop());

  const audit = (): Line[] => lines.map((line) => JSON.parse(line) as Line).filter((line) => line.name === 'audit');
  /** The audit line is written once the response has gone out: looked for until it comes, within a bound. */
  async function auditLine(match: (line: Line) => boolean): Promise<Line> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const found = audit().find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no such audit line in:\n${audit().map((line) => JSON.stringify(line)).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  const post = (path: string, token: string | null, body: object) =>
    fetch(`${instance.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { 'login-token': token } : {}) },
      body: JSON.stringify(body),
    });

  it('records an anonymous call refused with 401', async () => {
    const response = await fetch(`${instance.url}/system/farm/member`);
    assert.equal(response.status, 401);
    const line = await auditLine((entry) => entry.event === 'farm-call-refused' && entry.path === '/system/farm/member');
    assert.equal(line.status, 401);
    assert.equal(line.by, null);
    assert.equal(line.method, 'GET');
  });

  it('refuses a user who is not an administrator before acting, and records it', async () => {
    const response = await post('/system/farm/lock', editor, { holder: 'editor', leaseMs: 600_000 });
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as { error: { message: string } }).error.message, 'administrators only');
    assert.equal(await instance.services.repo.getNode(FARM_LOCK_NODE), null, 'no lock was taken');
    const line = await auditLine((entry) => entry.event === 'farm-call-refused' && entry.path === '/system/farm/lock');
    assert.equal(line.status, 403);
    assert.equal(line.by, 'editor');
  });

  it('guards and records the key refresh like the farm calls, as an admin API call (not a farm call)', async () => {
    const before = instance.services.crypto.keyIds();
    const response = await post('/system/console/crypto/refresh', editor, {});
    assert.equal(response.status, 403);
    assert.deepEqual(instance.services.crypto.keyIds(), before);
    const line = await auditLine((entry) => entry.event === 'admin-call-refused' && entry.path === '/system/console/crypto/refresh');
    assert.equal(line.status, 403);
    assert.equal(line.by, 'editor');
    assert.equal(line.msg, 'admin API: call refused');
    assert.equal(audit().filter((entry) => entry.event === 'farm-call-refused' && entry.path === '/system/console/crypto/refresh').length, 0);
    assert.equal((await post('/system/console/crypto/refresh', admin, {})).status, 200);
    await auditLine((entry) => entry.event === 'keys-reloaded');
  });

  it('guards logout-everywhere in the scope: refused before acting and recorded, the target\'s tokens still valid', async () => {
    const target = await login(instance.url, 'editor', 'editor-pw-correct-horse');
    const refused = await post('/api/users/editor/logout-everywhere', editor, {});
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { error: { message: string } }).error.message, 'administrators only');
    const anonymous = await fetch(`${instance.url}/api/users/admin/logout-everywhere`, { method: 'POST' });
    assert.equal(anonymous.status, 401);
    assert.equal(await sessionStatus(instance.url, target), 200, 'the target\'s tokens still valid');
    assert.equal(await sessionStatus(instance.url, editor), 200);
    assert.equal(await sessionStatus(instance.url, admin), 200);
    const line = await auditLine((entry) => entry.event === 'admin-call-refused' && entry.path === '/api/users/editor/logout-everywhere');
    assert.equal(line.status, 403);
    assert.equal(line.by, 'editor');
    const anonymousLine = await auditLine((entry) => entry.event === 'admin-call-refused' && entry.path === '/api/users/admin/logout-everywhere');
    assert.equal(anonymousLine.status, 401);
    assert.equal(anonymousLine.by, null);
    assert.equal(audit().filter((entry) => entry.event === 'logout-everywhere').length, 0, 'nothing was logged out');
  });

  it('records a call the route refuses (a body it cannot read), and an administrator granted by the route itself', async () => {
    const refused = await post('/system/farm/unlock', admin, { holder: '' });
    assert.equal(refused.status, 400);
    const line = await auditLine((entry) => entry.event === 'farm-call-refused' && entry.path === '/system/farm/unlock');
    assert.equal(line.status, 400);
    assert.equal(line.by, 'admin');
    const read = await fetch(`${instance.url}/system/farm/member`, withToken(admin));
    assert.equal(read.status, 200);
    await auditLine((entry) => entry.event === 'farm-member-read' && entry.by === 'admin');
    assert.equal(audit().filter((entry) => entry.event === 'farm-call-refused' && entry.by === 'admin').length, 1, 'a granted call is not recorded as refused');
  });

  it('refuses and records an unknown path under /system/farm: 401 to an anonymous caller (no route enumeration), 404 to an administrator', async () => {
    const anonymous = await fetch(`${instance.url}/system/farm/nope`);
    assert.equal(anonymous.status, 401);
    const anonymousLine = await auditLine((entry) => entry.event === 'farm-call-refused' && entry.path === '/system/farm/nope');
    assert.equal(anonymousLine.status, 401);
    assert.equal(anonymousLine.by, null);
    const unknownMethod = await fetch(`${instance.url}/system/farm/lock`, { method: 'DELETE', ...withToken(admin) });
    assert.equal(unknownMethod.status, 404);
    assert.equal(((await unknownMethod.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
    const adminLine = await auditLine((entry) => entry.event === 'farm-call-refused' && entry.method === 'DELETE' && entry.path === '/system/farm/lock');
    assert.equal(adminLine.status, 404);
    assert.equal(adminLine.by, 'admin');
    assert.equal(await instance.services.repo.getNode(FARM_LOCK_NODE), null, 'no lock was taken or released');
  });
});
