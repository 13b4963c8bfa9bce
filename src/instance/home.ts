import { resolve, join } from 'node:path';

/** Where everything of one instance lives (DESIGN.md, "The instance home"). */
export interface HomeLayout {
  readonly root: string;
  readonly repositoryDir: string;
  readonly repositoryFile: string;
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
