import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateKey, keyId } from '../../src/crypto/index.js';
import { writeFileAtomic } from '../../src/support/atomic-file.js';
import { runCliInProcess } from '../helpers/cli.js';
import { startServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/temp.js';

async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a running instance and its keys', () => {
  it('reloads on SIGHUP and after a key command, logs the new ids, and never logs key bytes or secrets', async () => {
    const home = join(tempDir(), 'home');
    const server = await startServerProcess({ home, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password-value', CAPSULE_LOG_LEVEL: 'debug' } });
    const secret = 'plain-client-secret-value';
    const protectedValue = (await runCliInProcess(['keys', 'protect', '--home', home], { stdin: secret })).stdout.trim();
    assert.equal((await runCliInProcess(['config', 'set', 'org.example.ims~svc', `client.secret=${protectedValue}`, '--force', '--home', home])).code, 0);

    // A new hmac key put in place by hand: only SIGHUP tells the instance.
    const replaced = generateKey();
    writeFileAtomic(join(home, 'keys', 'hmac'), replaced, 0o600);
    server.child.kill('SIGHUP');
    await waitFor(() => server.output().includes(keyId(replaced)), 5000, 'the reload log line');
    assert.match(server.output(), /keys reloaded/);

    // A key command on the same home: the instance notices on its own.
    const rotated = await runCliInProcess(['keys', 'rotate', '--hmac', '--json', '--home', home]);
    const current = (JSON.parse(rotated.stdout) as { current: string }).current;
    await waitFor(() => server.output().includes(current), 5000, 'the automatic reload');

    assert.equal(await server.stop(), 0);
    const log = server.output();
    const keyFiles = [readFileSync(join(home, 'keys', 'master')), readFileSync(join(home, 'keys', 'hmac')), replaced];
    for (const key of keyFiles) {
      for (const encoding of ['hex', 'base64', 'base64url'] as const) {
        assert.ok(!log.includes(key.toString(encoding)), `a key appears in the log as ${encoding}`);
      }
    }
    assert.ok(!log.includes(secret));
    assert.ok(!log.includes('admin-password-value'));
  });
});
