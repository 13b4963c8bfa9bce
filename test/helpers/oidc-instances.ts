import pino from 'pino';
import type { Clock } from '../../src/clock.js';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import type { SessionRegistry } from '../../src/sessions/index.js';
import type { LoginProvider } from './oidc-login-provider.js';
import { fastHasher } from './services.js';
import { capturedLogger } from './logs.js';

/** A pino logger whose lines a test can read. */
/** An instance in this process (admin password 'admin-password') whose log lines are kept. */
export async function startLoggedInstance(home: string, name: string, options: { clock?: Clock; sessions?: SessionRegistry } = {}): Promise<{ instance: RunningInstance; lines: string[] }> {
  const { logger, lines } = capturedLogger();
  const instance = await startInstance({ home, port: 0, hasher: fastHasher, logger, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' }, name, changePollMs: 100, clock: options.clock, sessions: options.sessions });
  return { instance, lines };
}

/** Configures `capsule.auth.oidc~corp` for the provider, as `capsule oidc add` does. */
export async function configureProvider(instance: RunningInstance, provider: LoginProvider, extra: Record<string, string | number | string[]> = {}): Promise<void> {
  await instance.services.config.update('capsule.auth.oidc~corp', {
    issuer: provider.issuer,
    'client.id': provider.clientId,
    'client.secret': provider.clientSecret,
    title: 'Corporate login',
    'group.map': ['idp-editors=editors'],
    'default.groups': ['staff'],
    scope: 'openid profile email groups',
    ...extra,
  });
}

export const callbackOf = (url: string) => `${url}/system/sling/oidc/callback`;
