import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startServerProcess } from '../helpers/server-process.js';
import { login, sessionStatus } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

async function tokenType(url: string, token: string): Promise<string> {
  const response = await fetch(`${url}/api/session`, { headers: { cookie: `login-token=${token}` } });
  return ((await response.json()) as { token: { type: string } }).token.type;
}

describe('switching token.encapsulated on a running instance', () => {
  it('takes effect for new logins without restart and logs no one out', async () => {
    const home = join(tempDir(), 'home');
    const server = await startServerProcess({ home, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' } });
    try {
      const stateful = await login(server.url, 'admin', 'admin-password');
      assert.equal(await tokenType(server.url, stateful), 'stateful');
      assert.equal((await runCli(['config', 'set', 'capsule.auth.token', 'token.encapsulated=true', '--home', home])).code, 0);
      let encapsulated = '';
      const deadline = Date.now() + 3000;
      do {
        encapsulated = await login(server.url, 'admin', 'admin-password');
      } while (!encapsulated.includes('.') && Date.now() < deadline && (await new Promise((r) => setTimeout(r, 100))) === undefined);
      assert.equal(await tokenType(server.url, encapsulated), 'encapsulated');
      assert.equal(await sessionStatus(server.url, stateful), 200, 'the stateful token issued before still works');
      assert.equal((await runCli(['config', 'set', 'capsule.auth.token', 'token.encapsulated=false', '--home', home])).code, 0);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(await tokenType(server.url, await login(server.url, 'admin', 'admin-password')), 'stateful');
      assert.equal(await sessionStatus(server.url, encapsulated), 200, 'the encapsulated token issued before still works');
    } finally {
      await server.stop();
    }
  });
});
