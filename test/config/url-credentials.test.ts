import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createConfigAdmin, defineComponent, property } from '../../src/config/index.js';
import { createCryptoSupport, generateKey } from '../../src/crypto/index.js';
import { isCapsuleError } from '../../src/errors.js';
import { replicationAgentComponent } from '../../src/replication/index.js';
import { tempRepository } from '../helpers/services.js';

const webhook = defineComponent({
  pid: 'test.webhook',
  title: 'Webhook',
  description: 'a plain URL property',
  properties: { url: property.url({ title: 'URL', required: true }) },
});

async function admin() {
  const protector = createCryptoSupport({
    load: async () => ({ storage: 'file', master: generateKey(), stagedMaster: null, hmac: generateKey(), stagedHmac: null, retiredHmac: [] }),
  });
  await protector.refresh();
  const repo = tempRepository();
  const config = createConfigAdmin({ repo, protector });
  config.register(replicationAgentComponent);
  config.register(webhook);
  await config.load();
  return { repo, config };
}

// A password written into a URL is shown wherever the URL is: the agent's log lines, replication
// status, the console. So URLs with a user or password are refused, and nothing is stored.
describe('URLs in the configuration carry no credentials', () => {
  it('refuses a replication agent URL with user:password@, and stores nothing', async () => {
    const { config, repo } = await admin();
    await assert.rejects(
      config.updateFromText('capsule.replication.agent~publish-1', { url: 'https://replicator:s3cret-pass@publish-1:4503', 'transport.user': 'replicator' }),
      (e) => isCapsuleError(e, 'INVALID_CONFIG') && /must not carry a user name or password/.test(e.message) && !e.message.includes('s3cret-pass'),
    );
    assert.equal(await repo.getNode('/conf/system/capsule.replication.agent~publish-1'), null);
  });

  it('refuses a user name alone too, on a plain URL property', async () => {
    const { config } = await admin();
    await assert.rejects(config.updateFromText('test.webhook', { url: 'https://someone@hooks.example/x' }), (e) => isCapsuleError(e, 'INVALID_CONFIG') && /url/.test(e.message));
  });

  it('accepts the same URLs without credentials', async () => {
    const { config } = await admin();
    await config.updateFromText('capsule.replication.agent~publish-1', { url: 'https://publish-1:4503', 'transport.user': 'replicator', 'transport.password': 'a-transport-password' });
    await config.updateFromText('test.webhook', { url: 'https://hooks.example/x' });
    assert.equal(config.stored('capsule.replication.agent~publish-1')?.url, 'https://publish-1:4503');
  });
});
