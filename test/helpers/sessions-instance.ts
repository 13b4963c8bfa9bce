import { join } from 'node:path';
import type { Logger } from 'pino';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import type { SignInDetails } from '../../src/sessions/types.js';
import { fastHasher } from './services.js';
import { sessionRegistryDouble, type SessionRegistryDouble } from './sessions-registry-double.js';
import { tempDir } from './temp.js';

export const FIREFOX_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';
export const SAFARI_ON_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';

export interface SessionsInstance {
  readonly instance: RunningInstance;
  readonly sessions: SessionRegistryDouble;
  /** A sign-in on another device, recorded as the token handler records one. */
  signedInElsewhere(userId: string, details?: Partial<SignInDetails>): Promise<string>;
}

/**
 * An instance whose session registry is a double (test/helpers/sessions-registry-double.ts), with
 * users alice and bob (not administrators) besides admin. Passwords: `<id>-pw-correct-horse`,
 * admin's 'admin-password'. The caller stops it.
 */
export async function startSessionsInstance(options: { name?: string; sessions?: SessionRegistryDouble; logger?: Logger } = {}): Promise<SessionsInstance> {
  const sessions = options.sessions ?? sessionRegistryDouble({ instance: options.name ?? 'test-instance' });
  const instance = await startInstance({
    home: join(tempDir(), 'home'),
    port: 0,
    hasher: fastHasher,
    env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' },
    name: options.name,
    logger: options.logger,
    sessions,
  });
  for (const user of ['alice', 'bob']) await instance.services.users.createUser(user, { password: `${user}-pw-correct-horse` });
  return {
    instance,
    sessions,
    async signedInElsewhere(userId, details = {}) {
      const user = await instance.services.users.getUser(userId);
      if (!user) throw new Error(`no user ${userId}`);
      return sessions.start(user, { method: 'password', clientAddress: '192.0.2.10', userAgent: FIREFOX_ON_WINDOWS, ...details }, Date.now() + 3_600_000);
    },
  };
}
