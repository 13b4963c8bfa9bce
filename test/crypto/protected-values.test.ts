import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCryptoSupport, generateKey, keyId, type KeySet } from '../../src/crypto/index.js';
import { isCapsuleError } from '../../src/errors.js';

function keySet(overrides: Partial<KeySet> = {}): KeySet {
  return { storage: 'file', master: generateKey(), stagedMaster: null, hmac: generateKey(), stagedHmac: null, retiredHmac: [], ...overrides };
}

async function support(keys: KeySet) {
  const crypto = createCryptoSupport({ load: async () => keys });
  await crypto.refresh();
  return crypto;
}

describe('protect and unprotect', () => {
  it('round-trips any text and marks the value with the key id', async () => {
    const keys = keySet();
    const crypto = await support(keys);
    for (const plain of ['s3cret', '', 'ünïcödé ✓ 🔑', 'x'.repeat(10_000)]) {
      const value = crypto.protect(plain);
      assert.match(value, new RegExp(`^\\{cap1:${keyId(keys.master)}:[A-Za-z0-9_-]+\\}$`));
      assert.equal(crypto.isProtected(value), true);
      assert.equal(crypto.unprotect(value), plain);
    }
    assert.notEqual(crypto.protect('same'), crypto.protect('same'), 'a fresh nonce every time');
    assert.equal(crypto.isProtected('plain text'), false);
  });

  it('refuses a tampered, truncated or relabelled value', async () => {
    const crypto = await support(keySet());
    const value = crypto.protect('s3cret');
    const body = value.slice(value.lastIndexOf(':') + 1, -1);
    const bytes = Buffer.from(body, 'base64url');
    for (const index of [0, 12, bytes.length - 1]) {
      const flipped = Buffer.from(bytes);
      flipped[index]! ^= 1;
      const tampered = value.replace(body, flipped.toString('base64url'));
      assert.throws(() => crypto.unprotect(tampered), (e) => isCapsuleError(e, 'PROTECTED_VALUE_INVALID') && /tampered/.test(e.message));
    }
    const truncated = value.replace(body, bytes.subarray(0, 20).toString('base64url'));
    assert.throws(() => crypto.unprotect(truncated), (e) => isCapsuleError(e, 'PROTECTED_VALUE_INVALID'));
    assert.throws(() => crypto.unprotect('{cap1:nonsense}'), (e) => isCapsuleError(e, 'PROTECTED_VALUE_INVALID'));
  });

  it("names both key ids when a value was encrypted with another instance's key", async () => {
    const mine = keySet();
    const theirs = keySet();
    const foreignValue = (await support(theirs)).protect('s3cret');
    const crypto = await support(mine);
    assert.throws(
      () => crypto.unprotect(foreignValue),
      (e) =>
        isCapsuleError(e, 'KEY_MISMATCH') &&
        e.message.includes(`encrypted with master key ${keyId(theirs.master)}`) &&
        e.message.includes(`this instance's master key is ${keyId(mine.master)}`) &&
        !e.message.includes('s3cret'),
    );
  });

  it('during a master rotation, encrypts with the staged key and decrypts with both', async () => {
    const old = generateKey();
    const next = generateKey();
    const before = await support(keySet({ master: old }));
    const oldValue = before.protect('old');
    const during = await support(keySet({ master: old, stagedMaster: next }));
    assert.equal(during.unprotect(oldValue), 'old');
    const newValue = during.protect('new');
    assert.match(newValue, new RegExp(keyId(next)));
    assert.equal(during.keyIds().stagedMaster, keyId(next));
  });

  it('fails with the reason until keys are loaded, and keeps working keys when a reload fails', async () => {
    let fail = true;
    const keys = keySet();
    const crypto = createCryptoSupport({
      load: async () => {
        if (fail) throw new Error('keys/master is 33 bytes');
        return keys;
      },
    });
    await assert.rejects(crypto.refresh(), /33 bytes/);
    assert.throws(() => crypto.protect('x'), /33 bytes/);
    fail = false;
    await crypto.refresh();
    const value = crypto.protect('x');
    fail = true;
    await assert.rejects(crypto.refresh(), /33 bytes/);
    assert.equal(crypto.unprotect(value), 'x', 'the running instance keeps its keys');
  });
});

describe('sign and verify', () => {
  it('verifies with the current, staged and retired keys, and nothing else', async () => {
    const retired = generateKey();
    const staged = generateKey();
    const keys = keySet({ stagedHmac: staged, retiredHmac: [{ kid: keyId(retired), key: retired, retiredAt: 0 }] });
    const crypto = await support(keys);
    const mac = crypto.sign('payload');
    assert.equal(crypto.verify('payload', mac), true);
    assert.equal(crypto.verify('payloaD', mac), false);
    assert.equal(crypto.verify('payload', mac.subarray(0, 31)), false);
    const oldMac = (await support(keySet({ hmac: retired }))).sign('payload');
    assert.equal(crypto.verify('payload', oldMac), true, 'retired keys still verify');
    const stagedMac = (await support(keySet({ hmac: staged }))).sign('payload');
    assert.equal(crypto.verify('payload', stagedMac), true, 'staged keys already verify');
    const strangerMac = (await support(keySet())).sign('payload');
    assert.equal(crypto.verify('payload', strangerMac), false);
    assert.equal(crypto.signingKey().kid, keyId(keys.hmac));
    assert.ok(crypto.verificationKey(keyId(retired))?.equals(retired));
    assert.equal(crypto.verificationKey('0000000000000000'), undefined);
  });
});
