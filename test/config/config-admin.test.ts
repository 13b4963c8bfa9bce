import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { applyConfigFiles, createConfigAdmin, defineComponent, property } from '../../src/config/index.js';
import { createCryptoSupport, generateKey, type CryptoSupport } from '../../src/crypto/index.js';
import { isCapsuleError } from '../../src/errors.js';
import { tempRepository } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

const mailer = defineComponent({
  pid: 'test.mailer',
  title: 'Mailer',
  description: 'sends mail',
  properties: {
    enabled: property.boolean({ title: 'Enabled', default: false }),
    port: property.integer({ title: 'Port', default: 25, min: 1, max: 65535 }),
    mode: property.choice(['smtp', 'lmtp'], { title: 'Mode', default: 'smtp' }),
    host: property.string({ title: 'Host', required: true }),
  },
});

const client = defineComponent({
  pid: 'test.client',
  title: 'Client',
  description: 'a factory',
  factory: true,
  properties: {
    url: property.string({ title: 'URL', required: true }),
    secret: property.secret({ title: 'Secret' }),
  },
});

/** The real crypto support (AES-256-GCM with a master key), as an instance hands it to the configuration admin. */
async function realCryptoSupport(): Promise<CryptoSupport> {
  const crypto = createCryptoSupport({
    load: async () => ({ storage: 'file', master: generateKey(), stagedMaster: null, hmac: generateKey(), stagedHmac: null, retiredHmac: [] }),
  });
  await crypto.refresh();
  return crypto;
}

const protector = await realCryptoSupport();

async function admin() {
  const repo = tempRepository();
  const config = createConfigAdmin({ repo, protector });
  config.register(mailer);
  config.register(client);
  await config.load();
  return { repo, config };
}

describe('configuration admin', () => {
  it('gives defaults until something is stored, then the stored values', async () => {
    const { config, repo } = await admin();
    assert.deepEqual(config.current('test.mailer'), { enabled: false, port: 25, mode: 'smtp' });
    assert.equal(config.stored('test.mailer'), null);
    await config.update('test.mailer', { host: 'mx', port: 2525 });
    assert.deepEqual(config.current('test.mailer'), { enabled: false, port: 2525, mode: 'smtp', host: 'mx' });
    assert.equal((await repo.getNode('/conf/system/test.mailer'))?.properties.port, 2525);
  });

  it('converts text from the command line by the schema', async () => {
    const { config } = await admin();
    await config.updateFromText('test.mailer', { enabled: 'true', port: '587', host: 'mx' });
    assert.deepEqual(config.stored('test.mailer'), { enabled: true, port: 587, host: 'mx' });
  });

  it('refuses values that fail the schema, naming the property, and stores nothing', async () => {
    const { config, repo } = await admin();
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ host: 'mx', port: '70000' }, /port/],
      [{ host: 'mx', port: 'many' }, /port/],
      [{ host: 'mx', enabled: 'perhaps' }, /enabled/],
      [{ host: 'mx', mode: 'carrier-pigeon' }, /mode/],
      [{ host: 'mx', colour: 'blue' }, /unknown property 'colour'/],
      [{ port: '25' }, /host is required/],
    ];
    for (const [changes, message] of cases) {
      await assert.rejects(config.updateFromText('test.mailer', changes), (e) => isCapsuleError(e, 'INVALID_CONFIG') && message.test(e.message));
    }
    assert.equal(await repo.getNode('/conf/system/test.mailer'), null);
  });

  it('stores an unregistered PID as given', async () => {
    const { config } = await admin();
    await config.updateFromText('org.example.anything', { a: '1', b: 'two' });
    assert.deepEqual(config.stored('org.example.anything'), { a: '1', b: 'two' });
  });

  it('keeps factory configurations apart and protects secrets on write', async () => {
    const { config, repo } = await admin();
    await assert.rejects(config.update('test.client', { url: 'x' }), (e) => isCapsuleError(e, 'INVALID_ARGUMENT') && /factory/.test(e.message));
    await assert.rejects(config.update('test.mailer~x', { host: 'x' }), (e) => isCapsuleError(e, 'INVALID_ARGUMENT'));
    await config.update('test.client~one', { url: 'https://one', secret: 'hunter2' });
    await config.update('test.client~two', { url: 'https://two' });
    const stored = (await repo.getNode('/conf/system/test.client~one'))!.properties.secret as string;
    assert.match(stored, new RegExp(`^\\{cap1:${protector.keyIds().master}:[A-Za-z0-9_-]+\\}$`), 'encrypted with this master key');
    assert.equal(protector.unprotect(stored), 'hunter2', 'and it decrypts to what was written');
    assert.ok(!JSON.stringify(await repo.getSubtree('/conf')).includes('hunter2'));
    assert.notEqual(config.current('test.client~one').secret, 'hunter2', 'nor is it held in clear');
    await config.update('test.client~one', { url: 'https://one-b' });
    assert.equal(config.stored('test.client~one')?.secret, stored, 'an already protected value is not protected twice');
    assert.equal((await repo.getNode('/conf/system/test.client~one'))!.properties.secret, stored);
    await config.update('test.client~one', { secret: stored });
    assert.equal(protector.unprotect(config.stored('test.client~one')?.secret as string), 'hunter2', 'a protected value written back stays one layer deep');
    await config.update('test.client~two', { secret: 'second' });
    const second = config.stored('test.client~two')?.secret as string;
    assert.equal(protector.unprotect(second), 'second');
    assert.notEqual(second, stored);
    assert.deepEqual(config.list().map((c) => c.pid), ['test.client~one', 'test.client~two']);
  });

  it('tells listeners of a PID, of a factory and of everything', async () => {
    const { config } = await admin();
    const seen: string[] = [];
    config.onChange('test.mailer', (pid, values) => seen.push(`mailer:${pid}:${values?.host ?? 'deleted'}`));
    config.onChange('test.client', (pid) => seen.push(`factory:${pid}`));
    config.onChange('*', (pid) => seen.push(`all:${pid}`));
    await config.update('test.mailer', { host: 'a' });
    await config.update('test.mailer', { host: 'a' }); // no change, no news
    await config.update('test.client~x', { url: 'u' });
    await config.delete('test.mailer');
    assert.deepEqual(seen, ['mailer:test.mailer:a', 'all:test.mailer', 'factory:test.client~x', 'all:test.client~x', 'mailer:test.mailer:deleted', 'all:test.mailer']);
  });

  it('sees what another admin on the same repository wrote after a refresh', async () => {
    const { config, repo } = await admin();
    const other = createConfigAdmin({ repo, protector });
    other.register(mailer);
    await other.load();
    const seen: string[] = [];
    config.onChange('test.mailer', (_pid, values) => seen.push(String(values?.host)));
    await other.update('test.mailer', { host: 'elsewhere' });
    assert.equal(config.current('test.mailer').host, undefined);
    assert.deepEqual(await config.refresh(), ['test.mailer']);
    assert.equal(config.current('test.mailer').host, 'elsewhere');
    assert.deepEqual(seen, ['elsewhere']);
  });

  it('applies <home>/config/<pid>.json files and names a bad one', async () => {
    const { config } = await admin();
    const dir = join(tempDir(), 'config');
    mkdirSync(dir);
    writeFileSync(join(dir, 'test.mailer.json'), JSON.stringify({ host: 'from-file', port: 465 }));
    assert.deepEqual(await applyConfigFiles(config, dir), ['test.mailer']);
    assert.equal(config.current('test.mailer').port, 465);
    assert.deepEqual(await applyConfigFiles(config, dir), [], 'unchanged files are not applied twice');
    writeFileSync(join(dir, 'test.mailer.json'), '{"port": "x"');
    await assert.rejects(applyConfigFiles(config, dir), (e) => isCapsuleError(e, 'INVALID_CONFIG') && /test\.mailer\.json/.test(e.message));
  });
});
