import { join } from 'node:path';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { runCli } from './cli.js';
import { POSTGRES_PASSWORD } from './postgres-cluster.js';
import { fastHasher } from './services.js';

// Members of a farm in this process, as an operator sets them up: the first home's keys exported
// and imported into the others (so each verifies the others' encapsulated tokens), encapsulated
// tokens on, one PostgreSQL farm store, the same users on each. No node:test here.

export const MEMBER_ADMIN_PASSWORD = 'admin-password';
const PASSPHRASE = 'correct horse battery staple';

export interface FarmStoreMembers {
  readonly homes: readonly string[];
  /** The running members, in the order of `names`. */
  members(): readonly RunningInstance[];
  /** Stops every member and starts each again on its home (new ports). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function cli(args: readonly string[]): Promise<void> {
  const result = await runCli(args, { env: { CAPSULE_KEYS_PASSPHRASE: PASSPHRASE } });
  if (result.code !== 0) throw new Error(`capsule ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
}

/**
 * Members named `names` in homes under `root`, sharing `storeUrl` (a URL without the password,
 * which each finds in its environment) and the keys of the first; `users` created on each with
 * the password `<user>-pw-correct-horse`. Configured, then restarted once: what they hold is what
 * a member reads at start.
 */
export async function startFarmStoreMembers(root: string, names: readonly string[], storeUrl: string, users: readonly string[]): Promise<FarmStoreMembers> {
  const homes = names.map((name) => join(root, name));
  const start = (index: number) =>
    startInstance({
      home: homes[index]!,
      port: 0,
      name: names[index]!,
      hasher: fastHasher,
      changePollMs: 100,
      env: { CAPSULE_ADMIN_PASSWORD: MEMBER_ADMIN_PASSWORD, SECRET_FARM_STORE: POSTGRES_PASSWORD },
    });
  let running: RunningInstance[] = [];
  const stop = async () => {
    const stopping = running;
    running = [];
    for (const member of stopping) await member.stop();
  };
  try {
    running.push(await start(0));
    const bundle = join(root, 'keys.bundle');
    await cli(['keys', 'export', '--out', bundle, '--home', homes[0]!]);
    for (let index = 1; index < names.length; index++) {
      await cli(['keys', 'import', '--in', bundle, '--home', homes[index]!]);
      running.push(await start(index));
    }
    for (const member of running) {
      await member.services.config.update('capsule.farm.store', { url: storeUrl, password: '$[env:SECRET_FARM_STORE]' });
      await member.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
      for (const user of users) await member.services.users.createUser(user, { password: `${user}-pw-correct-horse` });
    }
    await stop();
    for (let index = 0; index < names.length; index++) running.push(await start(index));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    homes,
    members: () => running,
    async restart() {
      await stop();
      for (let index = 0; index < names.length; index++) running.push(await start(index));
    },
    stop,
  };
}
