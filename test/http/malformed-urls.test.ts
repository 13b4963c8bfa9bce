import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningInstance } from '../../src/instance/index.js';
import { startTestInstance } from '../helpers/homes.js';
import { tempDir } from '../helpers/temp.js';

/** A raw GET: fetch() would normalise the path before sending it. */
function rawGet(port: number, path: string): Promise<{ status: number; instance: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, instance: response.headers['x-capsule-instance'] as string | undefined, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('malformed and unusual URLs', () => {
  let instance: RunningInstance;
  before(async () => {
    instance = await startTestInstance(join(tempDir(), 'home'), { name: 'urls' });
    await instance.services.repo.addNode('/content/100%', { type: 'capsule:Content', properties: { title: 'percent' } });
    await instance.services.repo.addNode('/content/café', { type: 'capsule:Content', properties: { title: 'accent' } });
  });
  after(() => instance.stop());

  it('decodes a path once: %25 is a literal percent sign (404 or 200, never 500)', async () => {
    const absent = await rawGet(instance.port, '/content/%25zz.json');
    assert.equal(absent.status, 404, absent.body);
    assert.match(absent.body, /no content at \/content\/%zz/);
    const present = await rawGet(instance.port, '/content/100%25.json');
    assert.equal(present.status, 200, present.body);
    assert.equal((JSON.parse(present.body) as { title: string }).title, 'percent');
    assert.equal((await rawGet(instance.port, '/content/caf%C3%A9.json')).status, 200);
  });

  it('answers a malformed percent sequence with 400 and a clear message in the usual format', async () => {
    for (const path of ['/content/%zz.json', '/content/%.json', '/content/%C0%AF.json', '/content/%E0%A4%A.json', '/system/%zz', '/api/%']) {
      const answer = await rawGet(instance.port, path);
      assert.equal(answer.status, 400, `${path}: ${answer.body}`);
      assert.deepEqual(JSON.parse(answer.body), {
        error: { code: 'INVALID_PATH', message: "the URL has a malformed percent sequence (write a literal '%' as %25)" },
      });
      assert.equal(answer.instance, 'urls', 'the instance still names itself');
    }
  });

  it('refuses paths that decode to traversal or control characters with 400', async () => {
    for (const path of ['/content/..%2F..%2Fetc.json', '/content/%00.json', '/content/a%0Ab.json']) {
      const answer = await rawGet(instance.port, path);
      assert.equal(answer.status, 400, `${path}: ${answer.body}`);
      assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, 'INVALID_PATH');
    }
  });

  it('gives client errors from the framework a code from Capsule\'s table', async () => {
    const response = await fetch(`${instance.url}/j_security_check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: { code: string } };
    assert.doesNotMatch(body.error.code, /^FST_/);
  });
});
