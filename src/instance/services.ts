import { existsSync, mkdirSync, statSync } from 'node:fs';
import type { Clock } from '../clock.js';
import { createConfigAdmin, type ConfigAdmin } from '../config/index.js';
import { createCryptoSupport, loadKeySet, prepareKeys, type CryptoSupport, type KeyStorageMode } from '../crypto/index.js';
import { CapsuleError } from '../errors.js';
import {
  isPostgresUrl,
  openPostgresRepository,
  openSqliteRepository,
  parsePostgresUrl,
  sameLocation,
  type Repository,
} from '../repository/index.js';
import { createArgon2Hasher, createUserManager, moveLegacyMembers, type PasswordHasher, type UserManager } from '../users/index.js';
import { createOutbox } from '../replication/index.js';
import { COMPONENTS } from './components.js';
import { PASSWORD_POLICY_PID, passwordPolicySettings } from '../auth/password-policy-config.js';
import { homeHasRepository, homeLayout, readRepositoryLocation, writeRepositoryLocation, type HomeLayout } from './home.js';

/** The services of one instance home, shared by the server and every CLI command. */
export interface Services {
  readonly home: HomeLayout;
  /** True when this call created the home's repository (its backend says so, from its schema). */
  readonly created: boolean;
  /** True when this start joined the keys a shared repository keeps in /etc/key. */
  readonly keysJoined: boolean;
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
  /** The instance's clock (`startInstance`'s), or `systemClock` for a CLI command. */
  readonly clock: Clock;
  readonly hasher?: PasswordHasher;
  /**
   * 'prepare' (start): run the key guard, make keys for a brand-new home, and fail unless the
   * keys load. 'load' (other commands): load them if possible; an operation that needs a
   * missing key then fails with the reason, and everything else still works.
   */
  readonly keys?: 'prepare' | 'load';
  /** Where a brand-new home keeps its keys. */
  readonly keyStorage?: KeyStorageMode;
  /**
   * A PostgreSQL URL. With `create` (start): the repository of a new home, remembered in the
   * home without its password; it must name the repository an existing home remembers. Without
   * `create`: used only for its password, and only when it names the remembered repository.
   */
  readonly repositoryUrl?: string;
  /** PGPASSWORD, ~/.pgpass (HOME, PGPASSFILE) are read from here. */
  readonly env?: NodeJS.ProcessEnv;
  /** What opening found and the operator should know (default: standard error). */
  readonly onWarning?: (message: string) => void;
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
  if (!create && !homeHasRepository(home)) {
    throw new CapsuleError(
      'HOME_UNREADABLE',
      `${home.root} has no repository (${home.repositoryFile}); start an instance there first or pass --home`,
    );
  }
}

export async function openServices(options: OpenServicesOptions): Promise<Services> {
  const home = homeLayout(options.home);
  const create = options.create ?? false;
  const { clock } = options;
  checkHome(home, create);
  if (create) mkdirSync(home.repositoryDir, { recursive: true, mode: 0o700 });
  const repo = await openHomeRepository(home, { create, clock, url: options.repositoryUrl, env: options.env ?? process.env });
  const created = repo.created;
  try {
    let keyWarnings: readonly string[] = [];
    let keysJoined = false;
    if (options.keys === 'prepare') {
      ({ warnings: keyWarnings, joined: keysJoined } = await prepareKeys(home, repo, {
        brandNewRepository: created,
        sharedRepository: repo.backend === 'postgres',
        keyStorage: options.keyStorage,
      }));
    }
    const crypto = createCryptoSupport({ load: () => loadKeySet(home.keysDir, repo) });
    if (options.keys === 'prepare') await crypto.refresh();
    else await crypto.refresh().catch(() => undefined); // kept inside crypto, thrown on first use
    if (!created) {
      // A repository from before memberships were nodes.
      const warn = options.onWarning ?? ((message: string) => process.stderr.write(`capsule: warning: ${message}\n`));
      for (const message of (await moveLegacyMembers(repo)).skipped) warn(message);
    }
    const config = createConfigAdmin({ repo, protector: crypto, env: options.env ?? process.env });
    for (const component of COMPONENTS) config.register(component);
    await config.load();
    const users = createUserManager({
      repo,
      hasher: options.hasher ?? createArgon2Hasher(),
      outbox: createOutbox(repo),
      passwordPolicy: () => passwordPolicySettings(config.current(PASSWORD_POLICY_PID)),
    });
    return { home, created, keysJoined, clock, repo, users, config, crypto, keyWarnings, close: () => repo.close() };
  } catch (error) {
    await repo.close();
    throw error;
  }
}

/**
 * Opens the repository the home remembers (repository/location), else its SQLite file. `url`
 * is --repository / CAPSULE_REPOSITORY_URL: at start it may put a new home on PostgreSQL; it never
 * moves an existing home (that is `capsule repository copy`).
 */
export async function openHomeRepository(
  home: HomeLayout,
  options: { create: boolean; clock: Clock; url?: string; env: NodeJS.ProcessEnv },
): Promise<Repository> {
  const remembered = readRepositoryLocation(home);
  const given = options.url?.trim() ? options.url.trim() : undefined;
  if (given !== undefined && !isPostgresUrl(given)) {
    throw new CapsuleError('INVALID_ARGUMENT', '--repository (or CAPSULE_REPOSITORY_URL) takes a URL of the form postgres://USER@HOST:PORT/DATABASE');
  }
  const givenLocation = given === undefined ? undefined : parsePostgresUrl(given, options.env);
  if (remembered.backend === 'postgres') {
    const rememberedLocation = parsePostgresUrl(remembered.url, options.env);
    let url = remembered.url;
    if (givenLocation && sameLocation(givenLocation, rememberedLocation)) url = given!;
    else if (givenLocation && options.create) {
      throw new CapsuleError(
        'INVALID_ARGUMENT',
        `this home's repository is ${rememberedLocation.display}, not ${givenLocation.display}; a home stays on its repository (move it with 'capsule repository copy --to URL')`,
      );
    }
    return openPostgresRepository({ url, clock: options.clock, env: options.env });
  }
  if (givenLocation && options.create) {
    if (remembered.remembered || existsSync(remembered.file)) {
      throw new CapsuleError(
        'INVALID_ARGUMENT',
        `this home keeps its repository in ${remembered.file}; to move it to PostgreSQL, stop the instance and run 'capsule repository copy --home ${home.root} --to ${givenLocation.display}'`,
      );
    }
    const repo = await openPostgresRepository({ url: given!, create: true, clock: options.clock, env: options.env });
    writeRepositoryLocation(home, { backend: 'postgres', url: givenLocation.display });
    return repo;
  }
  return openSqliteRepository({ file: remembered.file, create: options.create && !remembered.remembered, clock: options.clock });
}
