import type { Clock } from '../clock.js';
import { revealSecret, type ConfigAdmin } from '../config/index.js';
import type { CryptoSupport } from '../crypto/index.js';
import type { Log } from '../log.js';
import type { Repository } from '../repository/index.js';
import { createFallbackFarmStore, type FallbackFarmStore } from './fallback-farm-store.js';
import { FARM_STORE_PID, farmStoreSettings } from './farm-store-config.js';
import { createMemoryFarmStore, type RetainedRecord } from './memory-farm-store.js';
import { createPostgresFarmStore } from './postgres-farm-store.js';
import { createRepositoryFarmStore } from './repository-farm-store.js';
import type { FarmStore } from './types.js';

export interface FarmStoreDeps {
  readonly config: ConfigAdmin;
  readonly crypto: CryptoSupport;
  readonly repo: Repository;
  readonly clock: Clock;
  readonly logger: Log;
  readonly env?: NodeJS.ProcessEnv;
  /** What the memory fallback, when full, gives up last (a lockout). */
  readonly retainInMemory?: RetainedRecord;
}

/**
 * The store `capsule.farm.store` names now: its PostgreSQL database, or the instance's repository;
 * without a fallback (a command such as `capsule users unlock` must reach the store or fail).
 */
export function openPrimaryFarmStore(deps: Omit<FarmStoreDeps, 'logger'>): FarmStore {
  const settings = farmStoreSettings(deps.config.current(FARM_STORE_PID));
  if (settings.url === '') return createRepositoryFarmStore(deps);
  const password =
    settings.storedPassword === null
      ? undefined
      : revealSecret(settings.storedPassword, deps.crypto, { what: `password of ${FARM_STORE_PID}`, reenter: `capsule config set ${FARM_STORE_PID} password=…` }, deps.env);
  return createPostgresFarmStore({ url: settings.url, password, clock: deps.clock, env: deps.env });
}

/**
 * The instance's farm store, following its configuration live (a changed URL opens the new store
 * and closes the old one), with the fallback its `failure.policy` asks for.
 */
export function openFarmStore(deps: FarmStoreDeps): FallbackFarmStore {
  const { config, logger } = deps;
  const store = createFallbackFarmStore({
    primary: openPrimaryFarmStore(deps),
    fallback: createMemoryFarmStore({ clock: deps.clock, retain: deps.retainInMemory }),
    policy: () => farmStoreSettings(config.current(FARM_STORE_PID)).failurePolicy,
    clock: deps.clock,
    onDown: (state) =>
      logger.error(
        { farmStore: state.location, policy: state.policy },
        state.policy === 'open'
          ? `the farm store cannot be reached (${state.reason}); failed logins are counted on this instance only until it answers again (failure.policy=open)`
          : `the farm store cannot be reached (${state.reason}); sign-in is refused until it answers again (failure.policy=closed)`,
      ),
    onUp: (state) => logger.info({ farmStore: state.location }, 'the farm store answers again'),
  });
  config.onChange(FARM_STORE_PID, () => {
    try {
      const next = openPrimaryFarmStore(deps);
      void store.replacePrimary(next).catch(() => undefined);
      logger.info({ farmStore: next.location }, 'farm store changed');
    } catch (error) {
      logger.error({ err: error }, `${FARM_STORE_PID} changed, but the new store cannot be opened; keeping the one in use`);
    }
  });
  return store;
}
