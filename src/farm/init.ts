import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CapsuleError } from '../errors.js';
import { writeFileAtomic } from '../support/atomic-file.js';
import { addAgentToHome, addTransportUser, prepareInstanceHome, TRANSPORT_USER, type NewHomeOptions } from '../instance/new-home.js';
import { keyIdsOf, newFarmKeys } from '../instance/new-home-keys.js';
import { DEFAULT_HEALTH_CHECK, farmPaths, LOAD_BALANCER_HOST, LOCAL_RETRY_DELAY_SECONDS, MAX_PUBLISHERS, readLocalFarm, writeLocalFarm, type HealthCheckSettings, type LocalSettings } from './local-farm.js';
import { DEFAULT_LOGINS_PER_MINUTE, loginRateLimit } from './haproxy-login-limit.js';
import { renderLocalHaproxyConfig } from './local-haproxy.js';
import { FARM_FORMAT_V2, type FarmManifestV2 } from './remote/manifest.js';

export const DEFAULT_LOAD_BALANCER_PORT = 8080;
export const DEFAULT_MEMBER_PORT = 4502;
export const AUTHOR_NAME = 'author';
export const PUBLISH_PREFIX = 'publish-';

/** Member n of the local farm (0 the author) listens on 127.0.0.(n+2): each its own "machine". */
export function memberAddress(index: number): string {
  return `127.0.0.${index + 2}`;
}

export interface InitFarmOptions {
  readonly dir: string;
  readonly publishers: number;
  /** HAProxy's port on 127.0.0.1. */
  readonly port?: number;
  /** The port every member listens on, each on its own loopback address. */
  readonly memberPort?: number;
  readonly healthCheck?: Partial<HealthCheckSettings>;
  /** Login POSTs per client address a minute at HAProxy (default 30; 0: none). */
  readonly loginsPerMinute?: number;
  readonly hasher?: NewHomeOptions['hasher'];
}

export interface InitFarmResult {
  readonly dir: string;
  readonly manifest: string;
  readonly loadBalancer: string;
  readonly haproxyConfig: string;
  readonly adminPasswordFile: string;
  readonly master: string;
  readonly hmac: string;
  readonly members: ReadonlyArray<{ name: string; role: 'author' | 'publish'; url: string; home: string }>;
  readonly message: string;
}

function checkPort(port: number, option: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CapsuleError('INVALID_ARGUMENT', `${option} ${port}: give a port from 1 to 65535`);
  return port;
}

function checkOptions(options: InitFarmOptions): { port: number; memberPort: number; healthCheck: HealthCheckSettings; loginsPerMinute: number } {
  const { publishers } = options;
  if (!Number.isInteger(publishers) || publishers < 1 || publishers > MAX_PUBLISHERS) {
    throw new CapsuleError('INVALID_ARGUMENT', `--publishers '${publishers}': give a whole number from 1 to ${MAX_PUBLISHERS}`);
  }
  const healthCheck = { ...DEFAULT_HEALTH_CHECK, ...options.healthCheck };
  if (!Number.isInteger(healthCheck.intervalMs) || healthCheck.intervalMs < 100) {
    throw new CapsuleError('INVALID_ARGUMENT', `--check-interval ${healthCheck.intervalMs}: give a whole number of milliseconds, at least 100`);
  }
  for (const name of ['fall', 'rise'] as const) {
    if (!Number.isInteger(healthCheck[name]) || healthCheck[name] < 1 || healthCheck[name] > 100) {
      throw new CapsuleError('INVALID_ARGUMENT', `--check-${name} ${healthCheck[name]}: give a whole number from 1 to 100`);
    }
  }
  const { perMinute: loginsPerMinute } = loginRateLimit(options.loginsPerMinute ?? DEFAULT_LOGINS_PER_MINUTE, []);
  return { port: checkPort(options.port ?? DEFAULT_LOAD_BALANCER_PORT, '--port'), memberPort: checkPort(options.memberPort ?? DEFAULT_MEMBER_PORT, '--member-port'), healthCheck, loginsPerMinute };
}

function checkTarget(root: string): void {
  if (!existsSync(root)) return;
  if (!statSync(root).isDirectory()) throw new CapsuleError('INVALID_ARGUMENT', `${root} exists and is not a folder; choose a new folder for the farm`);
  if (readdirSync(root).length > 0) {
    throw new CapsuleError('INVALID_ARGUMENT', `${root} is not empty; choose a new folder (farm init never writes into existing files)`);
  }
}

const secret = () => randomBytes(18).toString('base64url');

/**
 * A new local farm in `dir`: an author and N publishes, each with its own home and loopback
 * address, one set of keys made once and imported into every home, the same admin, encapsulated
 * tokens, a transport user on each publish and an agent for it on the author, and an HAProxy
 * configuration for the publishes. Built in a sibling folder and renamed into place, so a failure
 * leaves no half-made farm. (It makes the homes; from then on every farm command works over HTTP.)
 */
export async function initFarm(options: InitFarmOptions): Promise<InitFarmResult> {
  const { port, memberPort, healthCheck, loginsPerMinute } = checkOptions(options);
  const paths = farmPaths(options.dir);
  checkTarget(paths.root);
  mkdirSync(dirname(paths.root), { recursive: true });
  const staging = join(dirname(paths.root), `.${basename(paths.root)}.init-${randomBytes(4).toString('hex')}`);
  const stagingPaths = farmPaths(staging);
  const names = [AUTHOR_NAME, ...Array.from({ length: options.publishers }, (_, index) => `${PUBLISH_PREFIX}${index + 1}`)];
  const manifest: FarmManifestV2 = {
    format: FARM_FORMAT_V2,
    members: names.map((name, index) => ({ name, role: index === 0 ? 'author' : 'publish', url: `http://${memberAddress(index)}:${memberPort}` })),
  };
  const local: LocalSettings = { homes: Object.fromEntries(names.map((name) => [name, name])), loadBalancer: { host: LOAD_BALANCER_HOST, port }, healthCheck, loginsPerMinute };
  const keys = newFarmKeys();
  const ids = keyIdsOf(keys);
  const adminPassword = secret();
  const publishes = manifest.members.filter((member) => member.role === 'publish').map((member) => ({ ...member, transportPassword: secret() }));
  mkdirSync(staging, { mode: 0o700 });
  try {
    writeFileAtomic(stagingPaths.adminPassword, `${adminPassword}\n`, 0o600);
    writeLocalFarm(stagingPaths, manifest, local);
    const farm = readLocalFarm(stagingPaths);
    for (const member of farm.members) {
      const publish = publishes.find((each) => each.name === member.name);
      await prepareInstanceHome(member.home, {
        keys,
        adminPassword,
        behindLoadBalancer: publish !== undefined,
        hasher: options.hasher,
        setup: async (services) => {
          if (publish) await addTransportUser(services, publish.transportPassword);
          else {
            for (const each of publishes) {
              await addAgentToHome(services, { name: each.name, url: each.url, transportUser: TRANSPORT_USER, transportPassword: each.transportPassword, retryDelaySeconds: LOCAL_RETRY_DELAY_SECONDS });
            }
          }
        },
      });
    }
    writeFileAtomic(stagingPaths.haproxyConfig, renderLocalHaproxyConfig(manifest, local), 0o644);
    checkTarget(paths.root); // nobody wrote there meanwhile
    renameSync(staging, paths.root); // replaces an empty folder
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  const members = readLocalFarm(paths).members.map(({ name, role, url, home }) => ({ name, role, url, home }));
  const lb = `http://${LOAD_BALANCER_HOST}:${port}`;
  return {
    dir: paths.root,
    manifest: paths.manifest,
    loadBalancer: lb,
    haproxyConfig: paths.haproxyConfig,
    adminPasswordFile: paths.adminPassword,
    master: ids.master,
    hmac: ids.hmac,
    members,
    message: [
      `created a farm in ${paths.root}: ${members.map((member) => `${member.name} ${member.url}`).join(', ')}; HAProxy ${lb} in front of the publishes (${paths.haproxyConfig})`,
      `every member has master ${ids.master} and hmac ${ids.hmac}, encapsulated tokens, and the admin password in ${paths.adminPassword} (mode 0600); the author replicates to every publish`,
      `next: 'capsule farm up --dir ${paths.root}', then 'capsule farm users add ID --password-stdin --dir ${paths.root}'`,
    ].join('\n'),
  };
}
