import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HTTP_PID } from '../../src/http/index.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { startTestInstance } from '../helpers/homes.js';
import { tempDir } from '../helpers/temp.js';

describe('trusted proxies (capsule.http proxies.trusted)', () => {
  let instance: RunningInstance;
  before(async () => {
    instance = await startTestInstance(join(tempDir(), 'home'));
  });
  after(() => instance.stop());

  /** 31 failed logins claiming to come from 31 addresses, then one claiming yet another. */
  async function lastStatusWithForgedAddresses(): Promise<number> {
    let status = 0;
    for (let i = 0; i < 32; i++) {
      const response = await fetch(`${instance.url}/j_security_check`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': `198.51.100.${i}` },
        body: `j_username=nobody-${i}&j_password=x`,
      });
      status = response.status;
    }
    return status;
  }

  it('believes no X-Forwarded-For by default: a client cannot escape the per-address limit by claiming other addresses', async () => {
    assert.equal(await lastStatusWithForgedAddresses(), 429);
  });

  it('refuses an entry that is not an address or a CIDR block', async () => {
    await assert.rejects(instance.services.config.update(HTTP_PID, { 'proxies.trusted': ['10.0.0.0/33'] }), /IP address or a CIDR block/);
    await assert.rejects(instance.services.config.update(HTTP_PID, { 'proxies.trusted': ['load-balancer'] }), /IP address or a CIDR block/);
  });

  it('honours X-Forwarded-For and X-Forwarded-Proto from a trusted proxy, live', async () => {
    await instance.services.config.update(HTTP_PID, { 'proxies.trusted': ['127.0.0.0/8'] });
    await instance.services.users.createUser('alice', { password: 'alice-pw' });
    const response = await fetch(`${instance.url}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' },
      body: 'j_username=alice&j_password=alice-pw',
    });
    assert.equal(response.status, 200, 'a client the proxy names is not the one that was throttled');
    assert.match(response.headers.getSetCookie()[0]!, /; Secure/, 'the proxy ended TLS: the cookie is Secure');
  });
});
