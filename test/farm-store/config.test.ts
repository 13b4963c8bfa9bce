import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FARM_STORE_PID, farmStoreSettings } from '../../src/farm-store/index.js';
import { join } from 'node:path';
import { after } from 'node:test';
import { startTestInstance } from '../helpers/homes.js';
import { tempDir } from '../helpers/temp.js';

async function tempServices() {
  const instance = await startTestInstance(join(tempDir(), 'home'));
  after(() => instance.stop());
  return instance.services;
}

describe('capsule.farm.store', () => {
  it('takes a postgres URL without a password, and a password kept apart (protected, or a reference)', async () => {
    const services = await tempServices();
    await services.config.update(FARM_STORE_PID, { url: 'postgres://farm@db.example:5432/farm?sslmode=verify-full', password: '$[env:SECRET_FARM_STORE]', 'failure.policy': 'closed' });
    const settings = farmStoreSettings(services.config.current(FARM_STORE_PID));
    assert.equal(settings.url, 'postgres://farm@db.example:5432/farm?sslmode=verify-full');
    assert.equal(settings.storedPassword, '$[env:SECRET_FARM_STORE]');
    assert.equal(settings.failurePolicy, 'closed');
    await services.config.update(FARM_STORE_PID, { password: 'typed-in-clear' });
    assert.match(String(services.config.current(FARM_STORE_PID).password), /^\{cap1:/, 'a password given as is is stored protected');
  });

  it('refuses a URL that carries a password, or is not postgres, and stores nothing', async () => {
    const services = await tempServices();
    for (const url of ['postgres://farm:s3cret@db/farm', 'postgresql://farm:@db/farm', 'mysql://farm@db/farm']) {
      await assert.rejects(services.config.update(FARM_STORE_PID, { url }), { code: 'INVALID_CONFIG' }, url);
    }
    assert.equal(services.config.stored(FARM_STORE_PID), null);
    assert.equal(farmStoreSettings(services.config.current(FARM_STORE_PID)).url, '', 'the default: the instance\'s repository');
  });
});
