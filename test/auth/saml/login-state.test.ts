import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sealLoginState } from '../../../src/auth/oidc/login-state.js';
import { openSamlLoginState, SAML_STATE_LIFETIME_S, sealSamlLoginState } from '../../../src/auth/saml/index.js';
import { createCryptoSupport, generateKey } from '../../../src/crypto/index.js';

const crypto = createCryptoSupport({
  load: async () => ({ storage: 'file', master: generateKey(), stagedMaster: null, hmac: generateKey(), stagedHmac: null, retiredHmac: [] }),
});
await crypto.refresh();

describe('the SAML login state', () => {
  const issuedAt = new Date(1_800_000_000_000);
  const state = { provider: 'corp', request: { id: '_abc', issuedAt }, resource: '/content/home.html' };

  it('gives back the provider, the request and the resource within its lifetime, and nothing after it', () => {
    const sealed = sealSamlLoginState(state, crypto);
    assert.deepEqual(openSamlLoginState(sealed, crypto, issuedAt.getTime() + SAML_STATE_LIFETIME_S * 1000 - 1), state);
    assert.equal(openSamlLoginState(sealed, crypto, issuedAt.getTime() + SAML_STATE_LIFETIME_S * 1000), null);
  });

  it("is not an OpenID login state, nor the other way round", () => {
    const oidc = sealLoginState({ p: 'corp', state: 's', nonce: 'n', v: 'v', u: 'https://x/cb', r: null, exp: 2_000_000_000 }, crypto);
    assert.equal(openSamlLoginState(oidc, crypto, issuedAt.getTime()), null);
  });
});
