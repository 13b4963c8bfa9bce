import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TOKEN_PID } from '../../src/auth/token-config.js';
import { startInstance } from '../../src/instance/index.js';
import { runCli } from '../helpers/cli.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

describe('a running instance and configuration written by another process', () => {
  it('applies a change made with the CLI within 2 seconds, without restart', async () => {
    const home = join(tempDir(), 'home');
    mkdirSync(join(home, 'config'), { recursive: true });
    writeFileSync(join(home, 'config', `${TOKEN_PID}.json`), JSON.stringify({ 'token.expiration': 3_600_000 }));
    const instance = await startInstance({ home, port: 0, hasher: fastHasher, env: { CAPSULE_ADMIN_PASSWORD: 'x' } });
    try {
      assert.equal(instance.services.config.current(TOKEN_PID)['token.expiration'], 3_600_000, 'config file applied at start');
      assert.equal(instance.services.config.current(TOKEN_PID)['token.encapsulated'], false);
      const noticed = new Promise<number>((resolve) => {
        const started = Date.now();
        instance.services.config.onChange(TOKEN_PID, (_pid, values) => {
          if (values?.['token.encapsulated'] === true) resolve(Date.now() - started);
        });
      });
      const result = await runCli(['config', 'set', TOKEN_PID, 'token.encapsulated=true', '--home', home]);
      assert.equal(result.code, 0, result.stderr);
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('not noticed within 2 s')), 2000).unref());
      await Promise.race([noticed, timeout]);
      assert.equal(instance.services.config.current(TOKEN_PID)['token.encapsulated'], true);
    } finally {
      await instance.stop();
    }
  });
});
