import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { CONFIG_COUNTER, CONFIG_ROOT } from '../../src/config/index.js';
import { METRICS_PID } from '../../src/http/metrics-config.js';
import { createLogger, startInstance, type RunningInstance } from '../../src/instance/index.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

// What an operator reads in the log about references: a scrape token that does not resolve once,
// not once per scrape; and, after an upgrade, each property that held a reference and no longer
// resolves it.

interface LoggedInstance {
  readonly instance: RunningInstance;
  /** The messages logged so far. */
  messages(): string[];
}

async function start(home: string): Promise<LoggedInstance> {
  let log = '';
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  const instance = await startInstance({
    home,
    port: 0,
    hasher: fastHasher,
    env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' },
    logger: createLogger({ destination, pretty: false }),
  });
  return { instance, messages: () => log.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { msg: string }).msg) };
}

describe('references in the log', () => {
  it('says once that the scrape token does not resolve, however often a scraper tries, and again only after it changed', async () => {
    const { instance, messages } = await start(join(tempDir(), 'home'));
    try {
      const scrape = () => fetch(`${instance.url}/system/metrics`, { headers: { authorization: 'Bearer scrape-token-1' } });
      const warnings = () => messages().filter((message) => message === 'the metrics scrape token is not usable; only administrators may read metrics').length;
      delete process.env.SECRET_SCRAPE_LOGGED;
      await instance.services.config.update(METRICS_PID, { 'scrape.token': '$[env:SECRET_SCRAPE_LOGGED]' });
      for (let i = 0; i < 5; i++) assert.equal((await scrape()).status, 403);
      assert.equal(warnings(), 1, 'one warning for five scrapes');
      process.env.SECRET_SCRAPE_LOGGED = 'scrape-token-1';
      assert.equal((await scrape()).status, 200);
      delete process.env.SECRET_SCRAPE_LOGGED;
      for (let i = 0; i < 3; i++) assert.equal((await scrape()).status, 403);
      assert.equal(warnings(), 2, 'said again after the token was usable for a while');
    } finally {
      delete process.env.SECRET_SCRAPE_LOGGED;
      await instance.stop();
    }
  });

  it('warns at start, once per property, of a reference an older version stored outside a secret, now used as written', async () => {
    const home = join(tempDir(), 'home');
    const first = await start(home);
    await first.instance.services.repo.transaction(async (tx) => {
      await tx.addNode(`${CONFIG_ROOT}/capsule.oauth.client~legacy`, {
        type: 'capsule:Configuration',
        properties: { 'token.endpoint': 'https://ims.example/token', 'client.id': '$[env:SECRET_LEGACY_ID]', 'client.secret': '$[env:SECRET_LEGACY]' },
      });
      await tx.bumpCounter(CONFIG_COUNTER);
    });
    await first.instance.stop();
    assert.deepEqual(first.messages().filter((message) => message.includes('no longer resolved')), [], 'nothing to say before');

    const second = await start(home);
    await second.instance.stop();
    assert.deepEqual(second.messages().filter((message) => message.includes('no longer resolved')), [
      'capsule.oauth.client~legacy: client.id holds $[env:SECRET_LEGACY_ID], which is no longer resolved (only secret properties resolve references): it is used as written; write the value itself (capsule config set capsule.oauth.client~legacy client.id=…)',
    ]);
  });
});
