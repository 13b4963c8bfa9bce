import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createConfigAdmin, defineComponent, property } from '../../src/config/index.js';
import { createCryptoSupport, generateKey } from '../../src/crypto/index.js';
import { oauthClientSettings } from '../../src/oauth/index.js';
import { revealClientSecret } from '../../src/oauth/client-secret.js';
import { isCapsuleError } from '../../src/errors.js';
import { tempRepository } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

// $[env:NAME] and $[secret:NAME] in configuration values: resolved when read, so a Kubernetes
// Secret mounted in CAPSULE_SECRETS_DIR supplies an OAuth client secret.

const client = defineComponent({
  pid: 'test.ref',
  title: 'Client',
  description: 'a client',
  factory: true,
  properties: { url: property.string({ title: 'URL', required: true }), 'client.secret': property.secret({ title: 'Secret' }) },
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

describe('configuration references', () => {
  it('resolves $[env:NAME] and $[secret:NAME] when read; the repository holds the reference, not the secret', async () => {
    const { config, repo, crypto } = await admin();
    const secrets = tempDir();
    writeFileSync(join(secrets, 'analytics-secret'), 's3cr3t-from-k8s\n');
    process.env.CAPSULE_SECRETS_DIR = secrets;
    process.env.TEST_TOKEN_HOST = 'idp.example';
    await config.update('test.ref~a', { url: 'https://$[env:TEST_TOKEN_HOST]/token', 'client.secret': '$[secret:analytics-secret]' });
    const current = config.current('test.ref~a');
    assert.equal(current.url, 'https://idp.example/token');
    assert.equal(current['client.secret'], 's3cr3t-from-k8s');
    assert.equal(revealClientSecret(oauthClientSettings('a', current), crypto), 's3cr3t-from-k8s');
    const stored = JSON.stringify(await repo.getSubtree('/conf'));
    assert.ok(stored.includes('$[secret:analytics-secret]') && !stored.includes('s3cr3t'), 'the reference is stored, never the secret');
    writeFileSync(join(secrets, 'analytics-secret'), 'rotated');
    assert.equal(config.current('test.ref~a')['client.secret'], 'rotated', 'read again each time');
  });

  it('names an unset reference in the error', async () => {
    const { config } = await admin();
    delete process.env.TEST_MISSING_VAR;
    await config.update('test.ref~b', { url: '$[env:TEST_MISSING_VAR]' });
    assert.throws(() => config.current('test.ref~b'), (error) => isCapsuleError(error, 'INVALID_CONFIG') && /\$\[env:TEST_MISSING_VAR\], which is not set/.test(error.message));
    await config.update('test.ref~b', { url: 'x', 'client.secret': '$[secret:nope]' });
    assert.throws(() => config.current('test.ref~b'), (error) => isCapsuleError(error, 'INVALID_CONFIG') && /\$\[secret:nope\], which is not in /.test(error.message));
  });
});
