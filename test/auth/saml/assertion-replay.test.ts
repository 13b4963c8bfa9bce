import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { validateSamlResponse, type SamlRequestState } from '../../../src/auth/saml/acs.js';
import { createMemoryReplayStore } from '../../../src/auth/saml/assertion-replay.js';
import { isSamlLoginError } from '../../../src/auth/saml/saml-login-error.js';
import { fixedClock, systemClock } from '../../../src/clock.js';
import { base64, settingsTrusting, TEST_SP, testIdp } from '../../helpers/saml-idp.js';

describe('the memory replay store', () => {
  it('lets a key be claimed once until its time has passed', async () => {
    const clock = fixedClock(1_000_000);
    const store = createMemoryReplayStore({ clock });
    const until = new Date(1_060_000);
    assert.equal(await store.claim('corp\n_a1', until), true);
    assert.equal(await store.claim('corp\n_a1', until), false);
    assert.equal(await store.claim('corp\n_a2', until), true, 'another key is its own');
    clock.set(1_059_999);
    assert.equal(await store.claim('corp\n_a1', until), false);
    clock.set(1_060_000);
    assert.equal(await store.claim('corp\n_a1', new Date(1_120_000)), true, 'free again once expired');
  });

  it('keeps every unexpired key through its sweeps of expired ones', async () => {
    const clock = fixedClock(0);
    const store = createMemoryReplayStore({ clock });
    for (let i = 0; i < 3000; i++) assert.equal(await store.claim(`short${i}`, new Date(10)), true);
    for (let i = 0; i < 3000; i++) assert.equal(await store.claim(`long${i}`, new Date(1_000_000)), true);
    clock.set(100);
    for (let i = 0; i < 3000; i++) assert.equal(await store.claim(`more${i}`, new Date(1_000_000)), true);
    for (let i = 0; i < 3000; i++) assert.equal(await store.claim(`long${i}`, new Date(1_000_000)), false, `long${i} still recorded`);
  });
});

describe('the ACS accepts each assertion once', () => {
  const idp = testIdp(TEST_SP);
  const replay = createMemoryReplayStore({ clock: systemClock });
  const options = { decryptionKey: null, requestLifetimeMs: 600_000, replay, clock: systemClock };
  const submit = (xml: string, request: SamlRequestState | null, values: Record<string, boolean> = {}) =>
    validateSamlResponse(settingsTrusting(idp, values), { samlResponse: base64(xml), acsUrl: TEST_SP.acsUrl, request }, options);
  const newRequest = (): SamlRequestState => ({ id: `_q${randomUUID()}`, issuedAt: new Date() });

  it('refuses the same SP-initiated response a second time, even with its login state', async () => {
    const request = newRequest();
    const xml = await idp.issue({ requestId: request.id });
    await submit(xml, request);
    await assert.rejects(submit(xml, request), (error) => isSamlLoginError(error, 'replayed'));
  });

  it('refuses the same IdP-initiated response a second time', async () => {
    const xml = await idp.issue({ requestId: null });
    await submit(xml, null, { allowIdpInitiated: true });
    await assert.rejects(submit(xml, null, { allowIdpInitiated: true }), (error) => isSamlLoginError(error, 'replayed'));
  });

  it('does not use up an assertion that was refused for another reason', async () => {
    const request = newRequest();
    const xml = await idp.issue({ requestId: request.id });
    await assert.rejects(submit(xml, newRequest()), (error) => isSamlLoginError(error, 'in-response-to'));
    assert.equal((await submit(xml, request)).nameId, 'alice');
  });
});
