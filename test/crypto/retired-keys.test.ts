import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { keyId } from '../../src/crypto/index.js';
import { startInstance } from '../../src/instance/index.js';
import { runCliInProcess } from '../helpers/cli.js';
import { initialisedHome, startTestInstance } from '../helpers/homes.js';
import { sessionStatus } from '../helpers/http.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };
const HOUR = 3_600_000;
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** What anyone holding a copy of an HMAC key can mint: a token for any user. */
function mint(key: Buffer, sub: string): string {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: keyId(key) })}.${b64({ sub, iat: now, exp: now + 3600, jti: 'x', gen: 0 })}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

function writeRetired(home: string, key: Buffer, retiredAt: number): void {
  const dir = join(home, 'keys', 'retired');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, keyId(key));
  writeFileSync(file, key, { mode: 0o600 });
  utimesSync(file, retiredAt / 1000, retiredAt / 1000);
}

describe('retired HMAC keys', () => {
  it('rotate --hmac --discard-old drops keys retired by earlier rotations: a token minted with the first key is refused', async () => {
    const home = await initialisedHome();
    const first = readFileSync(join(home, 'keys', 'hmac'));
    assert.equal((await runCliInProcess(['keys', 'rotate', '--hmac', '--home', home])).code, 0);
    const second = readFileSync(join(home, 'keys', 'hmac'));
    assert.deepEqual(readdirSync(join(home, 'keys', 'retired')), [keyId(first)]);
    const result = await runCliInProcess(['keys', 'rotate', '--hmac', '--discard-old', '--home', home]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`${keyId(second)}, ${keyId(first)} were dropped`));
    assert.deepEqual(readdirSync(join(home, 'keys', 'retired')), []);

    const instance = await startTestInstance(home);
    try {
      await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
      const current = readFileSync(join(home, 'keys', 'hmac'));
      assert.equal(await sessionStatus(instance.url, mint(current, 'admin')), 200, 'the test mints tokens the way the server signs them');
      assert.equal(await sessionStatus(instance.url, mint(first, 'admin')), 401, 'a key retired two rotations ago');
      assert.equal(await sessionStatus(instance.url, mint(second, 'admin')), 401, 'the key current before the playbook');
    } finally {
      await instance.stop();
    }
  });

  it('a retired key is deleted at start once every token it signed has expired (lifetime + skew)', async () => {
    const home = await initialisedHome();
    const expired = randomBytes(32);
    const live = randomBytes(32);
    // The default lifetime is 12 h; the skew allowance 60 s.
    writeRetired(home, expired, Date.now() - 12 * HOUR - 61_000);
    writeRetired(home, live, Date.now() - 12 * HOUR + 60_000);
    const instance = await startTestInstance(home);
    try {
      assert.deepEqual(readdirSync(join(home, 'keys', 'retired')), [keyId(live)]);
      assert.deepEqual(instance.services.crypto.keyIds().retiredHmac, [keyId(live)]);
      await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
      assert.equal(await sessionStatus(instance.url, mint(expired, 'admin')), 401);
      assert.equal(await sessionStatus(instance.url, mint(live, 'admin')), 200, 'a key whose tokens may still live keeps verifying');
    } finally {
      await instance.stop();
    }
  });

  it('a running instance deletes retired keys periodically, following the configured token lifetime', async () => {
    const home = await initialisedHome();
    const key = randomBytes(32);
    writeRetired(home, key, Date.now() - 2 * HOUR);
    const instance = await startInstance({ home, port: 0, hasher: fastHasher, changePollMs: 100, maintenanceIntervalMs: 100 });
    try {
      assert.deepEqual(instance.services.crypto.keyIds().retiredHmac, [keyId(key)], 'within 12 h it stays');
      await instance.services.config.update('capsule.auth.token', { 'token.expiration': HOUR });
      const deadline = Date.now() + 20_000;
      while (instance.services.crypto.keyIds().retiredHmac.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(instance.services.crypto.keyIds().retiredHmac, [], 'with a 1 h lifetime, a key retired 2 h ago has no live token');
      assert.equal(existsSync(join(home, 'keys', 'retired', keyId(key))), false);
    } finally {
      await instance.stop();
    }
  });

  it('keys import --force backs up the target\'s retired keys and stops trusting them', async () => {
    const source = await initialisedHome();
    const bundle = join(tempDir(), 'keys.bundle');
    assert.equal((await runCliInProcess(['keys', 'export', '--out', bundle, '--home', source], { env: PASS })).code, 0);
    const target = await initialisedHome();
    const targetFirst = readFileSync(join(target, 'keys', 'hmac'));
    assert.equal((await runCliInProcess(['keys', 'rotate', '--hmac', '--home', target])).code, 0);
    const result = await runCliInProcess(['keys', 'import', '--force', '--json', '--in', bundle, '--home', target], { env: PASS });
    assert.equal(result.code, 0, result.stderr);
    const { backupDir } = JSON.parse(result.stdout) as { backupDir: string };
    assert.deepEqual(readdirSync(join(target, 'keys', 'retired')), []);
    assert.deepEqual(readFileSync(join(backupDir, 'retired', keyId(targetFirst))), targetFirst, 'kept in the backup');
    const instance = await startTestInstance(target);
    try {
      await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
      assert.equal(await sessionStatus(instance.url, mint(targetFirst, 'admin')), 401);
      assert.deepEqual(instance.services.crypto.keyIds().retiredHmac, []);
    } finally {
      await instance.stop();
    }
  });
});
