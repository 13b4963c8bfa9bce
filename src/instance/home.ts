import { existsSync, readFileSync, rmSync } from 'node:fs';
import { isAbsolute, resolve, join } from 'node:path';
import { CapsuleError } from '../errors.js';
import { isPostgresUrl, parsePostgresUrl } from '../repository/index.js';
import { writeFileAtomic } from '../support/atomic-file.js';

/** Where everything of one instance lives (DESIGN.md, "The instance home"). */
export interface HomeLayout {
  readonly root: string;
  readonly repositoryDir: string;
  readonly repositoryFile: string;
  /**
   * Where the repository is when it is not `repositoryFile`: a PostgreSQL URL (never with its
   * password) or an SQLite file a `repository copy` moved the home to.
   */
  readonly repositoryLocationFile: string;
  readonly keysDir: string;
  readonly masterKeyFile: string;
  readonly hmacKeyFile: string;
  readonly storageMarkerFile: string;
  readonly stagedKeysDir: string;
  readonly retiredKeysDir: string;
  readonly configDir: string;
  readonly initialAdminPasswordFile: string;
}

export const DEFAULT_HOME = './capsule-home';

/** `--home`, else `CAPSULE_HOME`, else `./capsule-home`, made absolute. */
export function resolveHome(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(option ?? env.CAPSULE_HOME ?? DEFAULT_HOME);
}

export function homeLayout(home: string): HomeLayout {
  const root = resolve(home);
  const keysDir = join(root, 'keys');
  const repositoryDir = join(root, 'repository');
  return {
    root,
    repositoryDir,
    repositoryFile: join(repositoryDir, 'repository.sqlite'),
    repositoryLocationFile: join(repositoryDir, 'location'),
    keysDir,
    masterKeyFile: join(keysDir, 'master'),
    hmacKeyFile: join(keysDir, 'hmac'),
    storageMarkerFile: join(keysDir, 'storage'),
    stagedKeysDir: join(keysDir, 'staged'),
    retiredKeysDir: join(keysDir, 'retired'),
    configDir: join(root, 'config'),
    initialAdminPasswordFile: join(root, 'initial-admin-password'),
  };
}

/** Whether the home has a repository: its SQLite file, or a remembered location (PostgreSQL). */
export function homeHasRepository(home: HomeLayout): boolean {
  return existsSync(home.repositoryFile) || existsSync(home.repositoryLocationFile);
}

/** Where a home's repository is: an SQLite file, or a PostgreSQL URL without its password. */
export type RepositoryLocation = { readonly backend: 'sqlite'; readonly file: string } | { readonly backend: 'postgres'; readonly url: string };

/** The location the home remembers; the default SQLite file when it remembers none. */
export function readRepositoryLocation(home: HomeLayout): RepositoryLocation & { readonly remembered: boolean } {
  if (!existsSync(home.repositoryLocationFile)) return { backend: 'sqlite', file: home.repositoryFile, remembered: false };
  const text = readFileSync(home.repositoryLocationFile, 'utf8').trim();
  if (isPostgresUrl(text)) return { backend: 'postgres', url: parsePostgresUrl(text).display, remembered: true };
  if (isAbsolute(text)) return { backend: 'sqlite', file: text, remembered: true };
  throw new CapsuleError(
    'HOME_UNREADABLE',
    `${home.repositoryLocationFile} holds neither a postgres:// URL nor an absolute SQLite file path; write the repository's location there`,
  );
}

/** Remembers the location (a PostgreSQL URL is stored without its password); the default file forgets it. */
export function writeRepositoryLocation(home: HomeLayout, location: RepositoryLocation): void {
  if (location.backend === 'sqlite' && resolve(location.file) === home.repositoryFile) {
    rmSync(home.repositoryLocationFile, { force: true }); // back to the default file
    return;
  }
  const text = location.backend === 'postgres' ? parsePostgresUrl(location.url).display : resolve(location.file);
  writeFileAtomic(home.repositoryLocationFile, `${text}\n`, 0o600);
}
