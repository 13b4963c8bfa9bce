import { existsSync, mkdirSync, statSync } from 'node:fs';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { createConfigAdmin, type ConfigAdmin } from '../config/index.js';
import { createCryptoSupport, loadKeySet, prepareKeys, type CryptoSupport, type KeyStorageMode } from '../crypto/index.js';
import { CapsuleError } from '../errors.js';
import { openSqliteRepository, type Repository } from '../repository/index.js';
import { createArgon2Hasher, createUserManager, type PasswordHasher, type UserManager } from '../users/index.js';
import { COMPONENTS } from './components.js';
import { homeLayout, type HomeLayout } from './home.js';

/** The services of one instance home, shared by the server and every CLI command. */
export interface Services {
  readonly home: HomeLayout;
  /** True when this call created the home's repository. */
  readonly created: boolean;
  readonly clock: Clock;
  readonly repo: Repository;
  readonly users: UserManager;
  readonly config: ConfigAdmin;
  readonly crypto: CryptoSupport;
  /** What the key guard wants the operator to know (start only). */
  readonly keyWarnings: readonly string[];
  close(): Promise<void>;
}

export interface OpenServicesOptions {
  readonly home: string;
  /** Create the home and its repository when missing (only `start` does). */
  readonly create?: boolean;
  readonly clock?: Clock;
  readonly hasher?: PasswordHasher;
  /**
   * 'prepare' (start): run the key guard, make keys for a brand-new home, and fail unless the
   * keys load. 'load' (other commands): load them if possible; an operation that needs a
   * missing key then fails with the reason, and everything else still works.
   */
  readonly keys?: 'prepare' | 'load';
  /** Where a brand-new home keeps its keys. */
  readonly keyStorage?: KeyStorageMode;
}

function checkHome(home: HomeLayout, create: boolean): void {
  if (existsSync(home.root)) {
    if (!statSync(home.root).isDirectory()) {
      throw new CapsuleError('HOME_UNREADABLE', `${home.root} is not a folder; pass --home with a Capsule home`);
    }
  } else if (!create) {
    throw new CapsuleError(
      'HOME_UNREADABLE',
      `no Capsule home at ${home.root}; start an instance there first ('capsule start --home ${home.root}') or pass --home`,
    );
  }
  if (!create && !existsSync(home.repositoryFile)) {
    throw new CapsuleError(
      'HOME_UNREADABLE',
      `${home.root} has no repository (${home.repositoryFile}); start an instance there first or pass --home`,
    );
  }
}

export async function openServices(options: OpenServicesOptions): Promise<Services> {
  const home = homeLayout(options.home);
  const create = options.create ?? false;
  const clock = options.clock ?? systemClock;
  checkHome(home, create);
  const created = !existsSync(home.repositoryFile);
  if (create) mkdirSync(home.repositoryDir, { recursive: true, mode: 0o700 });
  const repo = openSqliteRepository({ file: home.repositoryFile, create, clock });
  try {
    let keyWarnings: readonly string[] = [];
    if (options.keys === 'prepare') {
      ({ warnings: keyWarnings } = await prepareKeys(home, repo, { brandNewRepository: created, keyStorage: options.keyStorage }));
    }
    const crypto = createCryptoSupport({ load: () => loadKeySet(home.keysDir, repo) });
    if (options.keys === 'prepare') await crypto.refresh();
    else await crypto.refresh().catch(() => undefined); // kept inside crypto, thrown on first use
    const users = createUserManager({ repo, hasher: options.hasher ?? createArgon2Hasher() });
    const config = createConfigAdmin({ repo, protector: crypto });
    for (const component of COMPONENTS) config.register(component);
    await config.load();
    return { home, created, clock, repo, users, config, crypto, keyWarnings, close: () => repo.close() };
  } catch (error) {
    await repo.close();
    throw error;
  }
}
