import { join } from 'node:path';
import { importKeys, stageHmacKey, type BundleKeys } from '../crypto/index.js';
import { TOKEN_PID } from '../auth/token-config.js';
import { HTTP_PID } from '../http/index.js';
import { createInitialAdmin } from '../instance/first-start.js';
import { homeLayout } from '../instance/home.js';
import { openServices } from '../instance/services.js';
import { writeFileAtomic } from '../support/atomic-file.js';
import type { PasswordHasher } from '../users/index.js';

export interface InstanceHomeOptions {
  /** The farm's keys, the same bytes on every instance. */
  readonly keys: BundleKeys;
  /** A key being rotated in: staged here too, so this instance verifies what the others will sign. */
  readonly stagedHmac?: Buffer | null;
  /** The farm's admin password, the same on every instance. */
  readonly adminPassword: string;
  readonly hasher?: PasswordHasher;
}

/** `config/capsule.auth.token.json`: applied at every start, so no instance drifts back to stateful tokens. */
export function tokenConfigFile(home: string): string {
  return join(homeLayout(home).configDir, `${TOKEN_PID}.json`);
}

/** `config/capsule.http.json`: the local farm's HAProxy connects from loopback; its X-Forwarded-For is believed. */
export function httpConfigFile(home: string): string {
  return join(homeLayout(home).configDir, `${HTTP_PID}.json`);
}

/** The address HAProxy connects to the instances from, in the farm on one machine. */
const LOAD_BALANCER_SOURCE = '127.0.0.1';

/**
 * A farm member's home, ready to start: the farm's keys imported before the repository exists
 * (so the first start never makes keys of its own), its repository with the farm's admin, and
 * encapsulated tokens switched on.
 */
export async function prepareInstanceHome(home: string, options: InstanceHomeOptions): Promise<void> {
  const layout = homeLayout(home);
  await importKeys(layout, null, options.keys);
  writeFileAtomic(tokenConfigFile(home), `${JSON.stringify({ 'token.encapsulated': true }, null, 2)}\n`, 0o644);
  writeFileAtomic(httpConfigFile(home), `${JSON.stringify({ 'proxies.trusted': [LOAD_BALANCER_SOURCE] }, null, 2)}\n`, 0o644);
  const services = await openServices({ home, create: true, keys: 'prepare', hasher: options.hasher });
  try {
    await createInitialAdmin(services, { CAPSULE_ADMIN_PASSWORD: options.adminPassword });
    if (options.stagedHmac) await stageHmacKey(layout, services.repo, options.stagedHmac);
  } finally {
    await services.close();
  }
}
