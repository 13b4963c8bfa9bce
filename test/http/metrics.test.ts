import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { METRICS_PID } from '../../src/http/index.js';
import { agentPid } from '../../src/replication/index.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { startTestInstance } from '../helpers/homes.js';
import { login } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

const SCRAPE_TOKEN = 'scrape-token-0b7d4e61';

/** The value of one series in Prometheus text, or undefined when it is not there. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /system/metrics', () => {
  let instance: RunningInstance;
  let adminToken: string;
  before(async () => {
    instance = await startTestInstance(join(tempDir(), 'home'));
    await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
    adminToken = await login(instance.url, 'admin', 'admin-password');
  });
  after(() => instance.stop());

  const scrape = (headers: Record<string, string>) => fetch(`${instance.url}/system/metrics`, { headers });

  it('is for administrators and the configured scrape token only', async () => {
    assert.equal((await scrape({})).status, 401);
    const alice = await login(instance.url, 'alice', 'alice-pw-correct-horse');
    assert.equal((await scrape({ 'login-token': alice })).status, 403, 'a user who is not an administrator');
    assert.equal((await scrape({ authorization: `Bearer ${SCRAPE_TOKEN}` })).status, 403, 'no scrape token is configured yet');

    await instance.services.config.update(METRICS_PID, { 'scrape.token': SCRAPE_TOKEN });
    assert.notEqual(instance.services.config.current(METRICS_PID)['scrape.token'], SCRAPE_TOKEN, 'stored encrypted');
    assert.equal((await scrape({ authorization: `Bearer ${SCRAPE_TOKEN}x` })).status, 403);
    assert.equal((await scrape({ authorization: `Bearer ${SCRAPE_TOKEN.slice(0, -1)}` })).status, 403);
    const byToken = await scrape({ authorization: `Bearer ${SCRAPE_TOKEN}` });
    assert.equal(byToken.status, 200);
    assert.match(byToken.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.ok(!(await byToken.text()).includes(SCRAPE_TOKEN));
    assert.equal((await scrape({ 'login-token': adminToken })).status, 200);
  });

  it('counts logins by outcome, token verifications by kind and outcome, request latency and health check states', async () => {
    const before = await (await scrape({ 'login-token': adminToken })).text();
    const token = await login(instance.url, 'alice', 'alice-pw-correct-horse');
    // Five failures lock bob (the quick-login check off: the count alone decides), the sixth meets the lock.
    await instance.services.config.update('capsule.auth.bruteforce', { maxFailures: 5, quickLoginCheckMilliSeconds: 0 });
    for (let i = 0; i < 6; i++) {
      await fetch(`${instance.url}/j_security_check`, { method: 'POST', body: new URLSearchParams({ j_username: 'bob', j_password: 'wrong' }) });
    }
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${instance.url}/api/session`, { headers: { 'login-token': token } })).status, 200);
    assert.equal((await fetch(`${instance.url}/api/session`, { headers: { 'login-token': `${token}x` } })).status, 401);
    const text = await (await scrape({ authorization: `Bearer ${SCRAPE_TOKEN}` })).text();

    const delta = (series: string) => (valueOf(text, series) ?? 0) - (valueOf(before, series) ?? 0);
    assert.equal(delta('capsule_logins_total{outcome="success"}'), 1);
    assert.equal(delta('capsule_logins_total{outcome="failure"}'), 5);
    assert.equal(delta('capsule_logins_total{outcome="locked"}'), 1);
    assert.equal(delta('capsule_account_locks_total{event="temporary"}'), 1);
    assert.equal(valueOf(text, 'capsule_account_locks_total{event="permanent"}'), 0, 'every series exists from the start');
    // The last scrape sends the scrape token, no login token: three verifications, the sessions'.
    assert.equal(delta('capsule_token_verifications_total{kind="stateful",outcome="valid"}'), 3);
    assert.equal(delta('capsule_token_verifications_total{kind="stateful",outcome="refused"}'), 1);
    assert.equal(valueOf(text, 'capsule_token_verifications_total{kind="encapsulated",outcome="error"}'), 0, 'every series exists from the start');
    assert.ok((valueOf(text, 'capsule_http_request_duration_seconds_count{method="GET",route="/api/session",status="2xx"}') ?? 0) >= 3);
    assert.ok((valueOf(text, 'capsule_http_request_duration_seconds_count{method="POST",route="/j_security_check",status="4xx"}') ?? 0) >= 6);
    assert.equal(valueOf(text, 'capsule_health_check_status{check="keys",readiness="true"}'), 0);
    assert.equal(valueOf(text, 'capsule_health_check_status{check="repository",readiness="true"}'), 0);
    assert.ok(!/route="\/api\/session\/x/.test(text));
  });

  it('shows the queue depth and lag of each replication agent', async () => {
    // An agent whose publish does not answer (nothing listens on port 9): changes wait in its queue.
    await instance.services.config.update(agentPid('publish-1'), { url: 'http://127.0.0.1:9', 'transport.user': 'replicator', 'transport.password': 'transport-pw' });
    await instance.services.users.createUser('carol', { password: 'carol-pw-correct-horse' });
    let depth = 0;
    for (let attempt = 0; attempt < 100 && depth === 0; attempt++) {
      const text = await (await scrape({ authorization: `Bearer ${SCRAPE_TOKEN}` })).text();
      depth = valueOf(text, 'capsule_replication_queue_depth{agent="publish-1"}') ?? 0;
      if (depth === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      else assert.ok((valueOf(text, 'capsule_replication_lag_seconds{agent="publish-1"}') ?? -1) >= 0);
    }
    assert.ok(depth >= 1, 'the change waits for the publish');
  });
});
