import { join } from 'node:path';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import type { KeyStorageMode } from '../../src/crypto/index.js';
import { fastHasher } from './services.js';
import { tempDir } from './temp.js';

/** Starts an instance in this process on a free port (admin password 'admin-password'). */
export function startTestInstance(home: string, options: { keyStorage?: KeyStorageMode; name?: string } = {}): Promise<RunningInstance> {
  return startInstance({
    home,
    port: 0,
    hasher: fastHasher,
    env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' },
    keyStorage: options.keyStorage,
    name: options.name,
    changePollMs: 100,
  });
}

/** A home that has been started once and stopped. */
export async function initialisedHome(options: { keyStorage?: KeyStorageMode } = {}): Promise<string> {
  const home = join(tempDir(), 'home');
  const instance = await startTestInstance(home, options);
  await instance.stop();
  return home;
}
