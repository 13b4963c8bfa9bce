import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { homeKeyIds, keyIdsOf, newFarmKeys, newKeysRequest, openServices, prepareInstanceHome } from '../../src/instance/index.js';
import { createMemberProvisioning } from '../../src/member/index.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

describe('the keys of a new home', () => {
  it('a home made with the farm keys holds exactly them; a folder without key files has none', async () => {
    const keys = newFarmKeys();
    const home = join(tempDir(), 'member');
    await prepareInstanceHome(home, { keys, adminPassword: 'admin-password', behindLoadBalancer: false, hasher: fastHasher });
    assert.deepEqual(homeKeyIds(home), keyIdsOf(keys));
    assert.notEqual(keyIdsOf(keys).master, keyIdsOf(newFarmKeys()).master, 'each farm gets its own keys');
    assert.deepEqual(homeKeyIds(join(tempDir(), 'empty')), { master: 'none', hmac: 'none' });
  });

  it("a keys request opens the bundle a member exports for it, and no other request's", async () => {
    const keys = newFarmKeys();
    const home = join(tempDir(), 'author');
    await prepareInstanceHome(home, { keys, adminPassword: 'admin-password', behindLoadBalancer: false, hasher: fastHasher });
    const services = await openServices({ home, hasher: fastHasher, clock: systemClock });
    try {
      const member = createMemberProvisioning({ ...services, home: services.home });
      const request = newKeysRequest();
      const exported = await member.exportKeys(request.publicKey);
      assert.ok(!JSON.stringify(exported).includes(keys.hmac.toString('base64url')), 'the key does not travel in clear');
      assert.deepEqual(keyIdsOf(request.open(exported)), keyIdsOf(keys));
      assert.throws(() => newKeysRequest().open(exported), (error: Error & { code?: string }) => error.code === 'BUNDLE_INVALID');
    } finally {
      await services.close();
    }
  });
});
