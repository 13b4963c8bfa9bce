import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes, sign as rsaSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jwtVerify, decodeProtectedHeader } from 'jose';
import { keyId } from '../../src/crypto/index.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { startTestInstance } from '../helpers/homes.js';
import { login, withToken } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

const b64 = (value: object | string) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function signHs(header: object, claims: object, key: Buffer, algorithm = 'sha256'): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac(algorithm, key).update(input).digest('base64url')}`;
}

describe('encapsulated tokens under attack', () => {
  let instance: RunningInstance;
  let url: string;
  let hmac: Buffer;
  let kid: string;
  let genuine: string;
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (overrides: object = {}) => ({ sub: 'alice', iat: now(), exp: now() + 3600, jti: 'abc', gen: 0, ...overrides });

  before(async () => {
    const home = join(tempDir(), 'home');
    instance = await startTestInstance(home);
    url = instance.url;
    await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
    await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
    hmac = readFileSync(join(home, 'keys', 'hmac'));
    kid = keyId(hmac);
    genuine = await login(url, 'alice', 'alice-pw-correct-horse');
  });
  after(() => instance.stop());

  async function status(token: string): Promise<number> {
    return (await fetch(`${url}/api/session`, withToken(token))).status;
  }

  it('accepts the genuine token and a token we sign the same way (the test signs correctly)', async () => {
    assert.equal(await status(genuine), 200);
    assert.equal(await status(signHs({ alg: 'HS256', typ: 'JWT', kid }, claims(), hmac)), 200);
  });

  it('accepts nbf in the past or within the clock-skew allowance', async () => {
    assert.equal(await status(signHs({ alg: 'HS256', typ: 'JWT', kid }, claims({ nbf: now() - 10 }), hmac)), 200);
    assert.equal(await status(signHs({ alg: 'HS256', typ: 'JWT', kid }, claims({ nbf: now() + 30 }), hmac)), 200);
  });

  it('is verified by a standard JOSE library with keys/hmac', async () => {
    const { payload, protectedHeader } = await jwtVerify(genuine, hmac, { algorithms: ['HS256'] });
    assert.equal(protectedHeader.alg, 'HS256');
    assert.equal(protectedHeader.kid, kid);
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.gen, 0);
    assert.equal(typeof payload.jti, 'string');
    assert.ok(payload.exp! - payload.iat! === 43_200);
    assert.ok(genuine.length < 1024, `token is ${genuine.length} bytes`);
    assert.deepEqual(Object.keys(payload).sort(), ['exp', 'gen', 'iat', 'jti', 'sid', 'sub'], 'nothing personal in the claims (sid: the session, 22 random characters)');
    assert.equal(decodeProtectedHeader(genuine).typ, 'JWT');
  });

  it('refuses every forgery with 401, never 500', async () => {
    const [header, payload, signature] = genuine.split('.') as [string, string, string];
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsInput = `${b64({ alg: 'RS256', kid })}.${b64(claims())}`;
    const forgeries: Record<string, string> = {
      'alg none': `${b64({ alg: 'none', kid })}.${b64(claims())}.`,
      'alg none, no signature part': `${b64({ alg: 'none', kid })}.${b64(claims())}`,
      'alg None': `${b64({ alg: 'None', kid })}.${b64(claims())}.${signature}`,
      HS512: signHs({ alg: 'HS512', kid }, claims(), hmac, 'sha512'),
      'HS512 header on an HS256 signature': `${b64({ alg: 'HS512', kid })}.${payload}.${signature}`,
      RS256: `${rsInput}.${rsaSign('sha256', Buffer.from(rsInput), privateKey).toString('base64url')}`,
      'changed subject': `${header}.${b64({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: 'admin' })}.${signature}`,
      'changed expiry': `${header}.${b64({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), exp: now() + 10 ** 8 })}.${signature}`,
      'foreign key': signHs({ alg: 'HS256', typ: 'JWT', kid }, claims(), randomBytes(32)),
      'unknown kid': signHs({ alg: 'HS256', typ: 'JWT', kid: '0123456789abcdef' }, claims(), hmac),
      'no kid': signHs({ alg: 'HS256', typ: 'JWT' }, claims(), hmac),
      'crit header': signHs({ alg: 'HS256', kid, crit: ['exp'] }, claims(), hmac),
      'truncated signature': genuine.slice(0, -5),
      'truncated token': genuine.slice(0, Math.floor(genuine.length / 2)),
      'signature of another token': `${header}.${payload}.${signHs({ alg: 'HS256', kid }, claims({ sub: 'bob' }), hmac).split('.')[2]}`,
      expired: signHs({ alg: 'HS256', typ: 'JWT', kid }, claims({ iat: now() - 7200, exp: now() - 1 }), hmac),
      'not yet valid (issued an hour ahead)': signHs({ alg: 'HS256', typ: 'JWT', kid }, claims({ iat: now() + 3600, exp: now() + 7200 }), hmac),
      'nbf an hour ahead (signed)': signHs({ alg: 'HS256', typ: 'JWT', kid }, claims({ nbf: now() + 3600 }), hmac),
      'nbf past the skew allowance (signed)': signHs({ alg: 'HS256', typ: 'JWT', kid }, claims({ nbf: now() + 120 }), hmac),
      'nbf not a number (signed)': signHs({ alg: 'HS256', typ: 'JWT', kid }, claims({ nbf: 'soon' }), hmac),
      'a claim outside the allowlist (signed)': signHs({ alg: 'HS256', typ: 'JWT', kid }, claims({ admin: true }), hmac),
      'a __proto__ claim (signed)': signHs({ alg: 'HS256', typ: 'JWT', kid }, JSON.parse(`{"sub":"alice","iat":${now()},"exp":${now() + 60},"jti":"x","gen":0,"__proto__":{"x":1}}`), hmac),
      'malformed base64 header': `!!!.${payload}.${signature}`,
      'malformed JSON header': `${b64('{"alg":"HS256",')}.${payload}.${signature}`,
      'malformed JSON claims (signed)': (() => {
        const input = `${b64({ alg: 'HS256', kid })}.${b64('{"sub":')}`;
        return `${input}.${createHmac('sha256', hmac).update(input).digest('base64url')}`;
      })(),
      'claims of the wrong types (signed)': signHs({ alg: 'HS256', kid }, { sub: 42, iat: 'now', exp: 'later', jti: 1, gen: -1 }, hmac),
      'four parts': `${genuine}.${signature}`,
      'huge cookie': `${header}.${'A'.repeat(8000)}.${signature}`,
      empty: '',
      'only dots': '..',
      'unicode junk': 'é.ü.ß',
    };
    for (const [name, token] of Object.entries(forgeries)) {
      const response = await fetch(`${url}/api/session`, { headers: { cookie: `login-token=${encodeURIComponent(token)}` } });
      assert.equal(response.status, 401, `${name} got ${response.status}`);
      const viaHeader = await fetch(`${url}/api/session`, { headers: { 'login-token': encodeURIComponent(token) } });
      assert.equal(viaHeader.status, 401, `${name} (header) got ${viaHeader.status}`);
    }
    assert.equal(await status(genuine), 200, 'the genuine token still works after the attack');
  });

  it('refuses a stateful-looking forgery too', async () => {
    for (const token of ['00000000-0000-0000-0000-000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', `${'a'.repeat(36)}_x`, '_']) {
      assert.equal(await status(token), 401, token);
    }
  });
});
