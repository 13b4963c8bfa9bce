import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCliInProcess } from '../helpers/cli.js';
import { startServerProcess } from '../helpers/server-process.js';
import { login, sessionStatus } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

async function tokenType(url: string, token: string): Promise<string> {
  const response = await fetch(`${url}/api/session`, { headers: { cookie: `login-token=${token}` } });
  return ((await response.json()) as { token: { type: string } }).token.type;
}

/**
 * Logs in until the server issues a token of this kind: the running instance notices the change
 * on its own poll, and a loaded machine may take a while. The pause grows to 1 s, so that a slow
 * switch leaves few stateful tokens behind (the store keeps at most 50 per user).
 */
async function loginUntil(url: string, kind: 'stateful' | 'encapsulated'): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (let pause = 100; ; pause = Math.min(pause * 2, 1_000)) {
    const token = await login(url, 'admin', 'admin-password');
    if ((await tokenType(url, token)) === kind) return token;
    if (Date.now() > deadline) throw new Error(`logins still issue no ${kind} token`);
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

describe('switching token.encapsulated on a running instance', () => {
  it('takes effect for new logins without restart and logs no one out', async () => {
    const home = join(tempDir(), 'home');
    const server = await startServerProcess({ home, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' } });
    try {
      const stateful = await login(server.url, 'admin', 'admin-password');
      assert.equal(await tokenType(server.url, stateful), 'stateful');
      assert.equal((await runCliInProcess(['config', 'set', 'capsule.auth.token', 'token.encapsulated=true', '--home', home])).code, 0);
      const encapsulated = await loginUntil(server.url, 'encapsulated');
      assert.equal(encapsulated.split('.').length, 3, 'a JWS compact token');
      assert.equal(await sessionStatus(server.url, stateful), 200, 'the stateful token issued before still works');
      assert.equal((await runCliInProcess(['config', 'set', 'capsule.auth.token', 'token.encapsulated=false', '--home', home])).code, 0);
      await loginUntil(server.url, 'stateful');
      assert.equal(await sessionStatus(server.url, encapsulated), 200, 'the encapsulated token issued before still works');
      assert.equal(await tokenType(server.url, encapsulated), 'encapsulated');
    } finally {
      await server.stop();
    }
  });
});
