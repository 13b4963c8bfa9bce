import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HTTP_PID } from '../../src/http/index.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { startTestInstance } from '../helpers/homes.js';
import { tempDir } from '../helpers/temp.js';

/** The per-address limit of a login (30 failures a minute). */
const LIMIT = 30;

describe('the per-address login limit, behind a trusted proxy', () => {
  let instance: RunningInstance;
  before(async () => {
    instance = await startTestInstance(join(tempDir(), 'home'));
    // The test is the load balancer: its X-Forwarded-For names the client.
    await instance.services.config.update(HTTP_PID, { 'proxies.trusted': ['127.0.0.0/8'] });
    await instance.services.users.createUser('alice', { password: 'alice-password' });
  });
  after(() => instance.stop());

  const loginFrom = async (client: string, user: string, password: string) => {
    const response = await fetch(`${instance.url}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': client },
      body: new URLSearchParams({ j_username: user, j_password: password }).toString(),
    });
    await response.body?.cancel();
    return response.status;
  };

  it('counts an IPv6 client by its /64: a new address of the same /64 is refused with 429, another /64 is not', async () => {
    for (let i = 1; i <= LIMIT; i++) assert.equal(await loginFrom(`2001:db8:1:2::${i.toString(16)}`, `guess-${i}`, 'wrong'), 401, `guess ${i}`);
    assert.equal(await loginFrom('2001:DB8:1:2:abcd:ef01:2345:6789', 'alice', 'alice-password'), 429, 'the same /64, written otherwise');
    assert.equal(await loginFrom('2001:db8:1:3::1', 'alice', 'alice-password'), 200, 'the next /64 is another client');
  });

  it('counts an IPv4 client written as IPv4-mapped IPv6 as that IPv4 client', async () => {
    for (let i = 1; i <= LIMIT; i++) {
      const client = i % 2 === 0 ? '198.51.100.7' : '::ffff:198.51.100.7';
      assert.equal(await loginFrom(client, `mapped-${i}`, 'wrong'), 401, `guess ${i}`);
    }
    assert.equal(await loginFrom('198.51.100.7', 'alice', 'alice-password'), 429);
  });

  it('keeps a limited address limited through a flood of distinct names from distinct addresses', async () => {
    for (let i = 1; i <= LIMIT; i++) assert.equal(await loginFrom('203.0.113.50', `victim-guess-${i}`, 'wrong'), 401);
    assert.equal(await loginFrom('203.0.113.50', 'alice', 'alice-password'), 429);
    for (let i = 0; i < 1_000; i++) {
      const client = i % 2 === 0 ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : `2001:db8:f${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`;
      assert.equal(await loginFrom(client, `flood-${i}`, 'wrong'), 401);
    }
    assert.equal(await loginFrom('203.0.113.50', 'alice', 'alice-password'), 429, 'still limited');
    assert.equal(await loginFrom('203.0.113.51', 'alice', 'alice-password'), 200);
  });
});
