import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refreshesAt } from '../../src/auth/refresh-rule.js';
import type { TokenSettings } from '../../src/auth/index.js';

const HOUR = 3600_000;
const defaults: TokenSettings = { encapsulated: false, expirationMs: 12 * HOUR, refresh: true, cookieName: 'login-token', sameSite: 'Lax', secure: 'auto' };

describe('the refresh rule', () => {
  it('refreshes strictly past half the lifetime, the same for a stateful and an encapsulated token', () => {
    const issuedAt = Date.parse('2026-11-23T00:00:00Z');
    const expiresAt = issuedAt + 12 * HOUR;
    const at = refreshesAt(defaults, expiresAt, 12 * HOUR);
    assert.equal(at, issuedAt + 6 * HOUR);
    // An encapsulated token's times are whole seconds: its lifetime is exp - iat.
    const iat = issuedAt / 1000;
    const exp = iat + 12 * 3600;
    assert.equal(refreshesAt(defaults, exp * 1000, (exp - iat) * 1000), at);
  });

  it('never refreshes when token.refresh is off', () => {
    assert.equal(refreshesAt({ ...defaults, refresh: false }, Date.now() + HOUR, 12 * HOUR), Infinity);
  });
});
