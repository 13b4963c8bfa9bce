import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { login } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp.js';
import { ADMIN_PASSWORD, cli, eventually, instanceProcess, type InstanceProcess } from '../helpers/replication-instances.js';

interface AgentStatusJson {
  name: string;
}

// Apart from author-publish.test.ts: the check takes its time to turn critical, and the suite runs files side by side.
describe('replication to a publish that cannot be reached', () => {
  let author: InstanceProcess | undefined;
  after(() => author?.stop('SIGKILL'));

  it("makes the agent's health check critical, naming the head item and the answer", async () => {
    author = await instanceProcess(join(tempDir(), 'author'), '127.0.0.1', 'author');
    const home = author.home;
    await cli(
      ['replication', 'add-agent', 'nowhere', '--url', `http://127.0.0.4:${await freePort()}`, '--transport-user', 'replicator', '--transport-password-stdin', '--retry-delay', '1', '--blocked-alert', '1', '--home', home],
      'x\n',
    );
    await cli(['users', 'add', 'alice', '--password-stdin', '--home', home], 'alice-pw-correct-horse\n'); // something to deliver
    const url = author.url;
    const check = await eventually('a critical replication check', async () => {
      const token = await login(url, 'admin', ADMIN_PASSWORD);
      await fetch(`${url}/system/console/healthcheck`, { method: 'GET', headers: { 'login-token': token } });
      const body = (await (await fetch(`${url}/system/health`, { headers: { 'login-token': token } })).json()) as {
        checks: Array<{ name: string; status: string; message: string }>;
      };
      const found = body.checks.find((each) => each.name === 'replication.agent.nowhere');
      return found?.status === 'critical' && found;
    }, 90_000);
    assert.match(check.message, /package 1: /);
    assert.match(check.message, /unreachable/);
    await cli(['replication', 'remove', 'nowhere', '--home', home]);
    const agents = JSON.parse(await cli(['replication', 'status', '--json', '--home', home])) as AgentStatusJson[];
    assert.ok(!agents.some((agent) => agent.name === 'nowhere'));
  });
});
