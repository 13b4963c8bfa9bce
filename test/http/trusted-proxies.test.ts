import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HTTP_PID } from '../../src/http/index.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { startTestInstance } from '../helpers/homes.js';
import { tempDir } from '../helpers/temp.js';

/** A login form POSTed from a chosen loopback address (a peer of the instance), with the headers given. */
function loginFrom(localAddress: string, url: string, fields: Record<string, string>, headers: Record<string, string>): Promise<{ status: number; setCookie: string[] }> {
  const body = new URLSearchParams(fields).toString();
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${url}/j_security_check`,
      { method: 'POST', localAddress, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...headers } },
      (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0, setCookie: response.headers['set-cookie'] ?? [] }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

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
    await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
    const response = await fetch(`${instance.url}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' },
      body: 'j_username=alice&j_password=alice-pw-correct-horse',
    });
    assert.equal(response.status, 200, 'a client the proxy names is not the one that was throttled');
    assert.match(response.headers.getSetCookie()[0]!, /; Secure/, 'the proxy ended TLS: the cookie is Secure');
  });

  it('ignores X-Forwarded-For and X-Forwarded-Proto from a peer that is not in the list', async () => {
    await instance.services.config.update(HTTP_PID, { 'proxies.trusted': ['127.0.0.2'] });
    await instance.services.users.createUser('bob', { password: 'bob-pw-correct-horse' });
    const forged = { 'x-forwarded-for': '203.0.113.77', 'x-forwarded-proto': 'https' };
    const untrusted = await loginFrom('127.0.0.3', instance.url, { j_username: 'bob', j_password: 'bob-pw-correct-horse' }, forged);
    assert.equal(untrusted.status, 200);
    assert.doesNotMatch(untrusted.setCookie[0]!, /; Secure/, 'plain HTTP as the peer really is: no Secure flag');
    const trusted = await loginFrom('127.0.0.2', instance.url, { j_username: 'bob', j_password: 'bob-pw-correct-horse' }, forged);
    assert.match(trusted.setCookie[0]!, /; Secure/, 'the listed proxy is believed');

    // Every failed login of the untrusted peer counts against its own address, whatever it claims.
    let status = 0;
    for (let i = 0; i < 31; i++) {
      status = (await loginFrom('127.0.0.4', instance.url, { j_username: `nobody-else-${i}`, j_password: 'x' }, { 'x-forwarded-for': `198.51.100.${100 + i}` })).status;
    }
    assert.equal(status, 429, 'the peer is throttled by its own address');
  });
});
