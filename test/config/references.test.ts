import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createConfigAdmin, CONFIG_ROOT, defineComponent, describeSecret, literalReferences, property, revealSecret, unresolvedReferences } from '../../src/config/index.js';
import { createCryptoSupport, generateKey } from '../../src/crypto/index.js';
import { oauthClientSettings } from '../../src/oauth/index.js';
import { revealClientSecret } from '../../src/oauth/client-secret.js';
import { isCapsuleError } from '../../src/errors.js';
import { tempRepository } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

// $[env:NAME] and $[secret:NAME] in secret configuration values: stored as written, resolved when
// the secret is used, so a Kubernetes Secret mounted in CAPSULE_SECRETS_DIR supplies an OAuth
// client secret. Anywhere else a reference is refused when written and taken literally when read.

const client = defineComponent({
  pid: 'test.ref',
  title: 'Client',
  description: 'a client',
  factory: true,
  properties: {
    url: property.string({ title: 'URL', required: true }),
    title: property.string({ title: 'Title' }),
    names: property.stringList({ title: 'Names' }),
    'client.secret': property.secret({ title: 'Secret' }),
  },
});

async function admin() {
  const crypto = createCryptoSupport({
    load: async () => ({ storage: 'file', master: generateKey(), stagedMaster: null, hmac: generateKey(), stagedHmac: null, retiredHmac: [] }),
  });
  await crypto.refresh();
  const repo = tempRepository();
  const config = createConfigAdmin({ repo, protector: crypto });
  config.register(client);
  await config.load();
  return { config, repo, crypto };
}

const label = { what: 'client.secret of test', reenter: 'enter it again' };

describe('configuration references', () => {
  it('keeps $[secret:NAME] and $[env:NAME] in a secret as written and resolves them when the secret is used, each time', async () => {
    const { config, repo, crypto } = await admin();
    const secrets = tempDir();
    writeFileSync(join(secrets, 'analytics-secret'), 's3cr3t-from-k8s\n');
    process.env.CAPSULE_SECRETS_DIR = secrets;
    await config.update('test.ref~a', { url: 'https://idp.example/token', 'client.secret': '$[secret:analytics-secret]' });
    const current = config.current('test.ref~a');
    assert.equal(current['client.secret'], '$[secret:analytics-secret]', 'a reader of the configuration never holds the secret');
    assert.equal(revealClientSecret(oauthClientSettings('a', current), crypto), 's3cr3t-from-k8s');
    const stored = JSON.stringify(await repo.getSubtree('/conf'));
    assert.ok(stored.includes('$[secret:analytics-secret]') && !stored.includes('s3cr3t'), 'the reference is stored, never the secret');
    writeFileSync(join(secrets, 'analytics-secret'), 'rotated');
    assert.equal(revealClientSecret(oauthClientSettings('a', config.current('test.ref~a')), crypto), 'rotated', 'read again each time');
    assert.equal(revealSecret('$[env:SECRET_TEST_PROTECTED]', crypto, label, { SECRET_TEST_PROTECTED: crypto.protect('inner') }), 'inner', 'a protected value from the environment is decrypted');
  });

  it('stores a secret reference whose variable is not set here, and fails only when the secret is used, naming the reference', async () => {
    const { config, crypto } = await admin();
    delete process.env.SECRET_TEST_MISSING;
    await config.update('test.ref~b', { url: 'https://x.example', 'client.secret': '$[env:SECRET_TEST_MISSING]' });
    const current = config.current('test.ref~b');
    assert.equal(current['client.secret'], '$[env:SECRET_TEST_MISSING]');
    assert.deepEqual(unresolvedReferences('test.ref~b', client, current, {}), ['test.ref~b: client.secret references $[env:SECRET_TEST_MISSING], which is not set in the environment']);
    assert.deepEqual(unresolvedReferences('test.ref~b', client, current, { SECRET_TEST_MISSING: 'set' }), []);
    assert.throws(
      () => revealClientSecret(oauthClientSettings('b', current), crypto),
      (error) => isCapsuleError(error, 'INVALID_CONFIG') && error.message === 'client.secret of b references $[env:SECRET_TEST_MISSING], which is not set in the environment',
    );
    await config.update('test.ref~b', { 'client.secret': '$[secret:nope]' });
    assert.throws(
      () => revealClientSecret(oauthClientSettings('b', config.current('test.ref~b')), crypto),
      (error) => isCapsuleError(error, 'INVALID_CONFIG') && /^client\.secret of b references \$\[secret:nope\], which is not in /.test(error.message),
    );
  });

  it('refuses a reference in a property that is not secret, naming it, and stores nothing', async () => {
    const { config, repo } = await admin();
    process.env.TEST_REF_LEAK = 'leaked-value';
    await config.update('test.ref~c', { url: 'https://x.example', title: 'Corporate' });
    const before = JSON.stringify(await repo.getSubtree(CONFIG_ROOT));
    const cases: Array<Record<string, string | string[]>> = [
      { title: 'Sign in $[env:TEST_REF_LEAK]' },
      { url: 'https://$[env:TEST_REF_LEAK]/token' },
      { names: ['a', '$[secret:file]'] },
      { title: 'changed', url: '$[env:TEST_REF_LEAK]' },
    ];
    for (const changes of cases) {
      await assert.rejects(config.update('test.ref~c', changes), (error) => {
        assert.ok(isCapsuleError(error, 'INVALID_CONFIG'));
        assert.match(error.message, /^test\.ref~c: (title|url|names): does not accept a reference such as \$\[(env:TEST_REF_LEAK|secret:file)\]; only secret properties resolve references \(here: client\.secret\)/);
        assert.ok(!error.message.includes('leaked-value'));
        return true;
      });
    }
    await assert.rejects(config.update('test.ref~new', { url: 'https://x.example', title: '$[env:TEST_REF_LEAK]' }), (error) => isCapsuleError(error, 'INVALID_CONFIG'));
    assert.equal(JSON.stringify(await repo.getSubtree(CONFIG_ROOT)), before, 'nothing was written');
    assert.equal(config.current('test.ref~c').title, 'Corporate');
  });

  it('takes a reference stored before in a property that is not secret literally, and still lets the others change', async () => {
    const { config, repo } = await admin();
    process.env.TEST_REF_LEAK = 'leaked-value';
    await config.update('test.ref~d', { url: 'https://x.example' });
    await repo.transaction((tx) => tx.setProperties(`${CONFIG_ROOT}/test.ref~d`, { title: 'Sign in $[env:TEST_REF_LEAK]' }));
    await config.refresh();
    assert.equal(config.current('test.ref~d').title, 'Sign in $[env:TEST_REF_LEAK]');
    await config.update('test.ref~d', { url: 'https://y.example' });
    assert.deepEqual(
      { url: config.current('test.ref~d').url, title: config.current('test.ref~d').title },
      { url: 'https://y.example', title: 'Sign in $[env:TEST_REF_LEAK]' },
    );
    assert.deepEqual(unresolvedReferences('test.ref~d', client, config.current('test.ref~d'), {}), [], 'a literal value is no reference to warn about');
  });

  it('accepts a reference in a secret only as the whole value: one inside other text is refused, never stored in clear, and one stored before is not resolved', async () => {
    const { config, repo, crypto } = await admin();
    await config.update('test.ref~e', { url: 'https://x.example', 'client.secret': 'first' });
    const before = JSON.stringify(await repo.getSubtree(CONFIG_ROOT));
    for (const secret of ['S3cr3t-$[env:HOME]', 'S3cr3t-$[env:SECRET_PART]', '$[env:SECRET_A]$[env:SECRET_B]', '$[env:SECRET A]', ' $[env:SECRET_A]']) {
      await assert.rejects(config.update('test.ref~e', { 'client.secret': secret }), (error) => {
        assert.ok(isCapsuleError(error, 'INVALID_CONFIG'));
        assert.match(error.message, /^test\.ref~e: client\.secret: a reference must be the whole value, \$\[env:NAME\] or \$\[secret:NAME\]/);
        assert.ok(!error.message.includes('S3cr3t'), 'the message never holds the value');
        return true;
      });
      await assert.rejects(config.update('test.ref~new', { url: 'https://x.example', 'client.secret': secret }), (error) => isCapsuleError(error, 'INVALID_CONFIG'));
    }
    assert.equal(JSON.stringify(await repo.getSubtree(CONFIG_ROOT)), before, 'nothing was written');
    await repo.transaction((tx) => tx.setProperties(`${CONFIG_ROOT}/test.ref~e`, { 'client.secret': 'S3cr3t-$[env:SECRET_PART]' }));
    await config.refresh();
    const stored = config.current('test.ref~e')['client.secret'] as string;
    assert.equal(describeSecret(stored, crypto).reference, undefined, 'not listed as a reference');
    assert.throws(
      () => revealSecret(stored, crypto, label, { SECRET_PART: 'middle' }),
      (error) => isCapsuleError(error, 'INVALID_CONFIG') && error.message.startsWith('client.secret of test mixes a reference with other text'),
    );
  });

  it('refuses a reference to a variable of Capsule, PostgreSQL or Node, or outside the reference prefix, when written and when used', async () => {
    const { config, repo, crypto } = await admin();
    await config.update('test.ref~f', { url: 'https://x.example', 'client.secret': 'first' });
    const before = JSON.stringify(await repo.getSubtree(CONFIG_ROOT));
    const env = { CAPSULE_KEYS_PASSPHRASE: 'pass-1', PGPASSWORD: 'pg-2', PGSERVICEFILE: 'pg-3', HOME: '/root', AWS_SECRET_ACCESS_KEY: 'aws-4', SECRET_OK: 'ok-5' };
    const forbidden = ['CAPSULE_KEYS_PASSPHRASE', 'CAPSULE_ADMIN_PASSWORD', 'CAPSULE_REPOSITORY_URL', 'PGPASSWORD', 'PGSERVICEFILE', 'HOME', 'AWS_SECRET_ACCESS_KEY'];
    const strict = createConfigAdmin({ repo, protector: crypto, env: { ...env, CAPSULE_REFERENCE_PREFIX: '' } });
    strict.register(client);
    await strict.load();
    for (const name of forbidden) {
      await assert.rejects(strict.update('test.ref~f', { 'client.secret': `$[env:${name}]` }), (error) => {
        assert.ok(isCapsuleError(error, 'INVALID_CONFIG'));
        assert.match(error.message, new RegExp(`^test\\.ref~f: client\\.secret references \\$\\[env:${name}\\], (one of Capsule's own|which does not begin with SECRET_)`));
        return true;
      });
      // Where the secret is used, even under a prefix that covers the name, when it is one of Capsule's own.
      const prefix = name.startsWith('AWS') ? undefined : name.slice(0, 3);
      assert.throws(
        () => revealSecret(`$[env:${name}]`, crypto, label, { ...env, CAPSULE_REFERENCE_PREFIX: prefix }),
        (error) => isCapsuleError(error, 'INVALID_CONFIG') && error.message.startsWith(`client.secret of test references $[env:${name}], `) && !Object.values(env).some((value) => error.message.includes(value)),
        `${name} is not resolved where the secret is used`,
      );
    }
    assert.equal(JSON.stringify(await repo.getSubtree(CONFIG_ROOT)), before, 'nothing was written');
    assert.equal(revealSecret('$[env:SECRET_OK]', crypto, label, env), 'ok-5');
    assert.equal(revealSecret('$[env:AWS_SECRET_ACCESS_KEY]', crypto, label, { ...env, CAPSULE_REFERENCE_PREFIX: 'AWS_' }), 'aws-4', 'the operator chooses the prefix');
    const custom = createConfigAdmin({ repo, protector: crypto, env: { CAPSULE_REFERENCE_PREFIX: 'IMS_' } });
    custom.register(client);
    await custom.load();
    await custom.update('test.ref~f', { 'client.secret': '$[env:IMS_CLIENT_SECRET]' });
    await assert.rejects(custom.update('test.ref~f', { 'client.secret': '$[env:SECRET_OK]' }), /which does not begin with IMS_ \(CAPSULE_REFERENCE_PREFIX\)/);
  });

  it('takes a variable that is set but empty as not set: a warning when written, a failure when used', async () => {
    const { config, crypto } = await admin();
    await config.update('test.ref~g', { url: 'https://x.example', 'client.secret': '$[env:SECRET_EMPTY]' });
    const current = config.current('test.ref~g');
    assert.deepEqual(unresolvedReferences('test.ref~g', client, current, { SECRET_EMPTY: '' }), ['test.ref~g: client.secret references $[env:SECRET_EMPTY], which is not set in the environment']);
    assert.throws(
      () => revealSecret(current['client.secret'] as string, crypto, label, { SECRET_EMPTY: '' }),
      (error) => isCapsuleError(error, 'INVALID_CONFIG') && error.message === 'client.secret of test references $[env:SECRET_EMPTY], which is not set in the environment',
    );
  });

  it('names each property that is no secret yet holds a reference stored before, for the start log', async () => {
    const { config, repo } = await admin();
    await config.update('test.ref~h', { url: 'https://x.example' });
    await repo.transaction((tx) => tx.setProperties(`${CONFIG_ROOT}/test.ref~h`, { title: '$[env:SECRET_T]', names: ['a', '$[secret:n]'], 'client.secret': '$[env:SECRET_S]' }));
    await config.refresh();
    assert.deepEqual(literalReferences('test.ref~h', client, config.current('test.ref~h')), [
      'test.ref~h: title holds $[env:SECRET_T], which is no longer resolved (only secret properties resolve references): it is used as written; write the value itself (capsule config set test.ref~h title=…)',
      'test.ref~h: names holds $[secret:n], which is no longer resolved (only secret properties resolve references): it is used as written; write the value itself (capsule config set test.ref~h names=…)',
    ]);
  });
});
