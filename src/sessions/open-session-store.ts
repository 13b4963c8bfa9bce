import type { Clock } from '../clock.js';
import { revealSecret, type ConfigAdmin } from '../config/index.js';
import type { CryptoSupport } from '../crypto/index.js';
import { FARM_STORE_PID, farmStoreSettings } from '../farm-store/index.js';
import type { Repository } from '../repository/index.js';
import { createPostgresSessionStore } from './postgres-session-store.js';
import { createRepositorySessionStore } from './repository-session-store.js';
import type { SessionStore } from './types.js';

export interface SessionStoreDeps {
  readonly config: ConfigAdmin;
  readonly crypto: CryptoSupport;
  readonly repo: Repository;
  readonly clock: Clock;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Where the sessions live now: the farm store's PostgreSQL database when `capsule.farm.store` has
 * a URL (every member sharing it lists the same sessions), else this instance's repository.
 */
export function openSessionStore(deps: SessionStoreDeps): SessionStore {
  const settings = farmStoreSettings(deps.config.current(FARM_STORE_PID));
  if (settings.url === '') return createRepositorySessionStore({ repo: deps.repo, clock: deps.clock });
  const password =
    settings.storedPassword === null
      ? undefined
      : revealSecret(settings.storedPassword, deps.crypto, { what: `password of ${FARM_STORE_PID}`, reenter: `capsule config set ${FARM_STORE_PID} password=…` }, deps.env);
  return createPostgresSessionStore({ url: settings.url, password, clock: deps.clock, env: deps.env });
}
