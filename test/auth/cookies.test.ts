import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCookie } from 'cookie';
import { tokenFromRequest } from '../../src/auth/cookies.js';

// tokenFromRequest reads a header that holds the login cookie alone without parsing it; these
// headers must come out exactly as the cookie parser reads them.
describe('the token of a request', () => {
  const name = 'login-token';
  const headers = [
    'login-token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_~',
    'login-token=46503ad2-f60f-42f6-818e-99e61144d4da_YzlgMvVj5UNjR2OgGFcIaqd2zzI-VqVumXY2_BFQP4A',
    'login-token="quoted"',
    'login-token=a%20b',
    'login-token=abc; other=1',
    'login-token= spaced ',
    'login-token=tab\t',
    'login-tokens=not-it',
    'login-token-2=not-it; login-token=it',
    'other=1; login-token=second',
    'login-token=',
    'login-token',
  ];
  for (const cookie of headers) {
    it(`reads ${JSON.stringify(cookie)} as the cookie parser does`, () => {
      const expected = parseCookie(cookie)[name] || null;
      assert.equal(tokenFromRequest({ headers: { cookie } }, name), expected);
    });
  }

  it('falls back to the login-token header', () => {
    assert.equal(tokenFromRequest({ headers: { 'login-token': 'from-header' } }, name), 'from-header');
    assert.equal(tokenFromRequest({ headers: { cookie: 'login-token=', 'login-token': 'from-header' } }, name), 'from-header');
    assert.equal(tokenFromRequest({ headers: { cookie: 'login-token=from-cookie', 'login-token': 'from-header' } }, name), 'from-cookie');
    assert.equal(tokenFromRequest({ headers: {} }, name), null);
  });
});
