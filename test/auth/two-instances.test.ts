import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startInstance } from '../../src/instance/index.js';
import { runCliInProcess } from '../helpers/cli.js';
import { startTestInstance } from '../helpers/homes.js';
import { login, sessionStatus, tokenOf, withToken } from '../helpers/http.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { capturedLogger } from '../helpers/logs.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };

describe('encapsulated tokens across instances', () => {
  it('a second instance with imported keys accepts the token when it has the user, and says why when it does not', async (t) => {
    const first = await startTestInstance(join(tempDir(), 'a'), { name: 'a' });
    t.after(() => first.stop()); // also when an assertion fails before the second instance runs
    await first.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
    await first.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
    const bundle = join(tempDir(), 'keys.bundle');
    const exported = await runCliInProcess(['keys', 'export', '--out', bundle, '--home', first.services.home.root], { env: PASS });
    assert.equal(exported.code, 0, exported.stderr);

    const secondHome = join(tempDir(), 'b');
    const imported = await runCliInProcess(['keys', 'import', '--in', bundle, '--home', secondHome], { env: PASS });
    assert.equal(imported.code, 0, imported.stderr);
    const { logger, lines } = capturedLogger();
    const second = await startInstance({ home: secondHome, port: 0, hasher: fastHasher, logger, env: { CAPSULE_ADMIN_PASSWORD: 'x-correct-horse' }, name: 'b' });
    t.after(() => second.stop());
    const token = await login(first.url, 'alice', 'alice-pw-correct-horse');
    assert.equal(await sessionStatus(first.url, token), 200);
    assert.equal(await sessionStatus(second.url, token), 401, 'alice does not exist on b yet');
    assert.ok(lines.some((line) => line.includes('valid token for alice, but alice does not exist on this instance')));
    assert.ok(!lines.some((line) => line.includes(token)), 'the token itself is never logged');

    await second.services.users.createUser('alice', { password: 'another-pw-correct-horse' });
    const response = await fetch(`${second.url}/api/session`, withToken(token));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-capsule-instance'), 'b');
    assert.equal(((await response.json()) as { userId: string }).userId, 'alice');

    await second.services.users.setDisabled('alice', true);
    assert.equal(await sessionStatus(second.url, token), 401);
    assert.ok(lines.some((line) => line.includes('alice is disabled')));
  });

  it('a stateful token works only on the instance that issued it, although both hold the same keys', async (t) => {
    const bundle = join(tempDir(), 'keys.bundle');
    const first = await startTestInstance(join(tempDir(), 'a'));
    t.after(() => first.stop());
    const exported = await runCliInProcess(['keys', 'export', '--out', bundle, '--home', first.services.home.root], { env: PASS });
    assert.equal(exported.code, 0, exported.stderr);
    const secondHome = join(tempDir(), 'b');
    const imported = await runCliInProcess(['keys', 'import', '--in', bundle, '--home', secondHome], { env: PASS });
    assert.equal(imported.code, 0, imported.stderr);
    const second = await startTestInstance(secondHome);
    t.after(() => second.stop());
    const ids = (instance: typeof first) => {
      const { master, hmac } = instance.services.crypto.keyIds();
      return { master, hmac };
    };
    assert.deepEqual(ids(second), ids(first), 'the import gave the second instance the first one\'s keys');

    const token = await login(first.url, 'admin', 'admin-password');
    assert.equal(await sessionStatus(first.url, token), 200);
    assert.equal(await sessionStatus(second.url, token), 401, 'a stateful token is stored on the instance that issued it');

    // The control: with the same keys and the same user, an encapsulated token from the first
    // instance is accepted by the second, so the 401 above comes from the token kind alone.
    for (const instance of [first, second]) await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
    const encapsulated = await login(first.url, 'admin', 'admin-password');
    assert.equal(await sessionStatus(second.url, encapsulated), 200, 'the keys are shared');
  });
});

describe('HMAC rotation and encapsulated tokens', () => {
  it('keeps issued tokens valid and re-issues them with the current key', async () => {
    const instance = await startTestInstance(join(tempDir(), 'home'));
    try {
      await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
      const before = await login(instance.url, 'admin', 'admin-password');
      const oldKid = instance.services.crypto.keyIds().hmac;
      assert.equal((await runCliInProcess(['keys', 'rotate', '--hmac', '--home', instance.services.home.root])).code, 0);
      const deadline = Date.now() + 30_000; // generous: the instance polls every 100 ms, a loaded machine may lag
      while (instance.services.crypto.keyIds().hmac === oldKid && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.notEqual(instance.services.crypto.keyIds().hmac, oldKid, 'the instance picked up the rotation');

      const response = await fetch(`${instance.url}/api/session`, withToken(before));
      assert.equal(response.status, 200, 'a token signed with the retired key still works');
      const renewed = tokenOf(response);
      assert.ok(renewed, 'and comes back signed with the current key');
      const header = JSON.parse(Buffer.from(renewed.split('.')[0]!, 'base64url').toString()) as { kid: string };
      assert.equal(header.kid, instance.services.crypto.keyIds().hmac);
      assert.equal(await sessionStatus(instance.url, renewed), 200);

      assert.equal((await runCliInProcess(['keys', 'rotate', '--hmac', '--discard-old', '--home', instance.services.home.root])).code, 0);
      const until = Date.now() + 30_000;
      while ((await sessionStatus(instance.url, renewed)) === 200 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await sessionStatus(instance.url, renewed), 401, 'after --discard-old every older token is void');
    } finally {
      await instance.stop();
    }
  });
});
