import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createConfigAdmin, CONFIG_ROOT, defineComponent, property, revealSecret, unresolvedReferences } from '../../src/config/index.js';
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
    assert.equal(revealSecret('pre-$[env:TEST_REF_PART]-post', crypto, label, { TEST_REF_PART: 'middle' }), 'pre-middle-post');
    assert.equal(revealSecret('$[env:TEST_REF_PROTECTED]', crypto, label, { TEST_REF_PROTECTED: crypto.protect('inner') }), 'inner', 'a protected value from the environment is decrypted');
  });

  it('stores a secret reference whose variable is not set here, and fails only when the secret is used, naming the reference', async () => {
    const { config, crypto } = await admin();
    delete process.env.TEST_MISSING_VAR;
    await config.update('test.ref~b', { url: 'https://x.example', 'client.secret': '$[env:TEST_MISSING_VAR]' });
    const current = config.current('test.ref~b');
    assert.equal(current['client.secret'], '$[env:TEST_MISSING_VAR]');
    assert.deepEqual(unresolvedReferences('test.ref~b', client, current, {}), ['test.ref~b: client.secret references $[env:TEST_MISSING_VAR], which is not set in the environment']);
    assert.deepEqual(unresolvedReferences('test.ref~b', client, current, { TEST_MISSING_VAR: 'set' }), []);
    assert.throws(
      () => revealClientSecret(oauthClientSettings('b', current), crypto),
      (error) => isCapsuleError(error, 'INVALID_CONFIG') && error.message === 'client.secret of b references $[env:TEST_MISSING_VAR], which is not set in the environment',
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
});
