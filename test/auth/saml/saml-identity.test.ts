import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { samlIdentity } from '../../../src/auth/saml/saml-identity.js';
import { isSamlLoginError } from '../../../src/auth/saml/saml-login-error.js';
import type { ValidatedAssertion } from '../../../src/auth/saml/verified-assertion.js';
import { capturedLogger } from '../../helpers/logs.js';
import { settingsTrusting, TEST_SP, testIdp } from '../../helpers/saml-idp.js';

const idp = testIdp(TEST_SP);

function assertion(nameId: string, attributes: Record<string, string[]> = {}): ValidatedAssertion {
  return { nameId, nameIdFormat: null, attributes, sessionIndex: null, assertionId: '_a', notOnOrAfter: new Date() };
}

describe('who signs in through SAML', () => {
  it('is the NameID by default, with only mapped IdP groups plus the default groups', () => {
    const settings = settingsTrusting(idp, { groupMap: ['idp-editors=editors'], defaultGroups: ['saml-users'] });
    const { logger } = capturedLogger();
    const identity = samlIdentity(settings, assertion('alice', { groupMembership: ['idp-editors', 'administrators'] }), logger);
    assert.deepEqual(identity, { userId: 'alice', groups: ['editors', 'saml-users'] }, "an unmapped IdP 'administrators' grants nothing");
  });

  it('is the configured attribute where one is set, refused when it is absent or has several values', () => {
    const settings = settingsTrusting(idp, { userIDAttribute: 'uid' });
    const { logger } = capturedLogger();
    assert.equal(samlIdentity(settings, assertion('AAECAwQ=', { uid: ['alice'] }), logger).userId, 'alice');
    assert.throws(() => samlIdentity(settings, assertion('x', {}), logger), (error) => isSamlLoginError(error, 'user-id') && error.received === 'the attribute is absent');
    assert.throws(() => samlIdentity(settings, assertion('x', { uid: ['a', 'b'] }), logger), (error) => isSamlLoginError(error, 'user-id'));
  });

  it('refuses a user id Capsule cannot hold as it is (an opaque base64 NameID), rather than rewriting it', () => {
    const { logger } = capturedLogger();
    assert.throws(
      () => samlIdentity(settingsTrusting(idp), assertion('3+n1ZbV/Yk8q9w=='), logger),
      (error) => isSamlLoginError(error, 'user-id') && error.received === '3+n1ZbV/Yk8q9w==',
    );
  });

  it('has no IdP groups when the attribute is absent or not configured, and logs a mapped name that is no group id', () => {
    const { logger, lines } = capturedLogger();
    assert.deepEqual(samlIdentity(settingsTrusting(idp, { groupMap: ['g=editors'] }), assertion('bob'), logger).groups, []);
    assert.deepEqual(samlIdentity(settingsTrusting(idp, { groupMap: ['g=editors'], groupMembershipAttribute: '' }), assertion('bob', { groupMembership: ['g'] }), logger).groups, []);
    assert.deepEqual(samlIdentity(settingsTrusting(idp, { groupMap: ['g=bad group'] }), assertion('bob', { groupMembership: ['g'] }), logger).groups, []);
    const withoutMemberships = settingsTrusting(idp, { groupMap: ['g=editors'], defaultGroups: ['staff'], addGroupMemberships: false });
    assert.deepEqual(samlIdentity(withoutMemberships, assertion('bob', { groupMembership: ['g'] }), logger).groups, ['staff'], "AEM's addGroupMemberships=false: default groups only");
    assert.deepEqual(samlIdentity(settingsTrusting(idp, { groupMap: ['g=editors'], defaultGroups: ['staff'] }), assertion('bob', { groupMembership: ['g'] }), logger).groups, ['editors', 'staff']);
    assert.ok(lines.some((line) => line.includes('not a valid Capsule group id')));
  });

  it('refuses more groups than a token can carry', () => {
    const map = Array.from({ length: 21 }, (_, i) => `g${i}=group${i}`);
    const { logger } = capturedLogger();
    assert.throws(
      () => samlIdentity(settingsTrusting(idp, { groupMap: map }), assertion('carol', { groupMembership: map.map((entry) => entry.split('=')[0]!) }), logger),
      (error) => isSamlLoginError(error, 'too-many-groups') && error.received === '21 groups',
    );
  });
});
