import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openState, sealState } from '../../src/auth/signed-state.js';
import { createCryptoSupport, generateKey, type CryptoSupport } from '../../src/crypto/index.js';

async function cryptoWithFreshKeys(): Promise<CryptoSupport> {
  const crypto = createCryptoSupport({
    load: async () => ({ storage: 'file', master: generateKey(), stagedMaster: null, hmac: generateKey(), stagedHmac: null, retiredHmac: [] }),
  });
  await crypto.refresh();
  return crypto;
}

describe('a state sealed for the browser', () => {
  it('opens with the same keys and purpose, and with nothing else', async () => {
    const crypto = await cryptoWithFreshKeys();
    const sealed = sealState({ p: 'corp', id: '_r1' }, 'purpose a', crypto);
    assert.deepEqual(openState(sealed, 'purpose a', crypto), { p: 'corp', id: '_r1' });
    assert.equal(openState(sealed, 'purpose b', crypto), null, 'another purpose (an OpenID state passed off as a SAML one)');
    assert.equal(openState(sealed, 'purpose a', await cryptoWithFreshKeys()), null, "another farm's keys");
    const [kid, payload, signature] = sealed.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ p: 'corp', id: '_r2' })).toString('base64url');
    assert.equal(openState(`${kid}.${forged}.${signature}`, 'purpose a', crypto), null, 'a changed payload');
    assert.equal(openState(`${kid}.${payload}.${signature.slice(0, -2)}`, 'purpose a', crypto), null, 'a cut signature');
    assert.equal(openState(`${sealed}.x`, 'purpose a', crypto), null);
    assert.equal(openState(undefined, 'purpose a', crypto), null);
    assert.equal(openState('x'.repeat(5000), 'purpose a', crypto), null);
  });
});
