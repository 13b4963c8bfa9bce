import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryReplayStore } from '../../../src/auth/saml/assertion-replay.js';
import { createSingleLogout } from '../../../src/auth/saml/single-logout.js';
import { systemClock } from '../../../src/clock.js';
import { silentLogger } from '../../../src/instance/index.js';
import { createUserManager } from '../../../src/users/index.js';
import { authorizablePath } from '../../../src/users/ids.js';
import { applyReplicatedUser } from '../../../src/users/replicated-state.js';
import { USER_TYPE, USERS_ROOT } from '../../../src/users/types.js';
import { countingRepository } from '../../helpers/counting-repository.js';
import { TEST_SP, testIdp, type TestIdp } from '../../helpers/saml-idp.js';
import { fastHasher, tempServices } from '../../helpers/services.js';

const SLO_URL = 'https://www.example.test/system/sling/saml/corp/slo';

/**
 * A started instance's services with `total` users written into its real repository in one
 * transaction: every third one 'corp' provisioned (as replication writes them), with the NameID
 * `nameid-<index>`; the user id came from an attribute (`userIDAttribute`), so it is not the NameID.
 */
async function singleLogoutAmong(total: number, idp: TestIdp) {
  const services = await tempServices();
  await services.config.update('capsule.auth.saml~corp', {
    serviceProviderEntityId: TEST_SP.entityId,
    idpUrl: 'https://idp.example.test/sso',
    idpEntityId: idp.entityId,
    idpCert: [idp.keys.certificatePem],
    handleLogout: true,
    logoutUrl: 'https://idp.example.test/slo',
    userIDAttribute: 'uid',
  });
  await services.repo.transaction(async (tx) => {
    for (let index = 0; index < total; index++) {
      const id = `user${String(index).padStart(7, '0')}`;
      if (index % 3 === 0) {
        await applyReplicatedUser(tx, id, { disabled: false, generation: 1, groups: [], external: { provider: 'corp', subject: `nameid-${index}`, groups: [] } }, { localGroups: [] });
      } else {
        await tx.addNode(authorizablePath(USERS_ROOT, id), { type: USER_TYPE, properties: { userId: id, disabled: false, generation: 1 } });
      }
    }
  });
  const counting = countingRepository(services.repo);
  const users = createUserManager({ repo: counting.repo, hasher: fastHasher });
  const logout = createSingleLogout({ config: services.config, crypto: services.crypto, users, clock: systemClock, logger: silentLogger(), replay: createMemoryReplayStore({ clock: systemClock }) });
  return { counting, logout };
}

describe('the cost of an IdP-initiated SAML logout', () => {
  it('reads as many nodes to find the user of a NameID among 3,000 users as among 1,000, when the user id came from an attribute', async () => {
    const idp = testIdp(TEST_SP);
    const costs = async (total: number) => {
      const { counting, logout } = await singleLogoutAmong(total, idp);
      const read: number[] = [];
      for (const [nameId, userId] of [['nameid-300', 'user0000300'], ['nameid-999', 'user0000999'], ['nameid-301', null], ['nobody', null]] as const) {
        counting.reset();
        const received = await logout.receiveRequest('corp', { rawQuery: new URL(idp.logoutRequest(SLO_URL, { nameId }).url).search.slice(1), sloUrl: () => SLO_URL });
        assert.deepEqual(received.userIds, userId === null ? [] : [userId], nameId);
        read.push(counting.nodesRead());
      }
      return read;
    };
    const small = await costs(1000);
    const large = await costs(3000);
    assert.deepEqual(large, small, 'nodes read per logout request, 3,000 users against 1,000');
    assert.ok(small.every((read) => read <= 2), `a logout reads the user it ends, if any: ${small.join(', ')}`);
  });
});
