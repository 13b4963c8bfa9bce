import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { generateKey, keyId, type BundleKeys } from '../crypto/index.js';
import { CapsuleError } from '../errors.js';
import { writeFileAtomic } from '../support/atomic-file.js';
import type { PasswordHasher } from '../users/index.js';
import { renderHaproxyConfig } from './haproxy-config.js';
import { prepareInstanceHome } from './instance-home.js';
import {
  DEFAULT_HEALTH_CHECK,
  FARM_FORMAT,
  farmPaths,
  instancesOf,
  LOOPBACK,
  loadBalancerUrl,
  MAX_INSTANCES,
  writeManifest,
  type FarmManifest,
  type HealthCheckSettings,
} from './manifest.js';

export const DEFAULT_LOAD_BALANCER_PORT = 8080;
export const PUBLISH_PREFIX = 'publish-';

export interface InitFarmOptions {
  readonly dir: string;
  readonly publishers: number;
  /** The load balancer's port; instances listen on the ports after it. */
  readonly port?: number;
  readonly healthCheck?: Partial<HealthCheckSettings>;
  readonly hasher?: PasswordHasher;
}

export interface InitFarmResult {
  readonly dir: string;
  readonly loadBalancer: string;
  readonly haproxyConfig: string;
  readonly adminPasswordFile: string;
  readonly master: string;
  readonly hmac: string;
  readonly instances: ReadonlyArray<{ name: string; home: string; port: number }>;
  readonly message: string;
}

function checkOptions(options: InitFarmOptions): { port: number; healthCheck: HealthCheckSettings } {
  const { publishers } = options;
  if (!Number.isInteger(publishers) || publishers < 1 || publishers > MAX_INSTANCES) {
    throw new CapsuleError('INVALID_ARGUMENT', `--publishers '${publishers}': give a whole number from 1 to ${MAX_INSTANCES}`);
  }
  const port = options.port ?? DEFAULT_LOAD_BALANCER_PORT;
  if (!Number.isInteger(port) || port < 1 || port + publishers > 65535) {
    throw new CapsuleError('INVALID_ARGUMENT', `--port ${port}: the load balancer and the ${publishers} instances after it need ports from ${port} to ${port + publishers}, all within 1 to 65535`);
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
  return { port, healthCheck };
}

function checkTarget(root: string): void {
  if (!existsSync(root)) return;
  if (!statSync(root).isDirectory()) throw new CapsuleError('INVALID_ARGUMENT', `${root} exists and is not a folder; choose a new folder for the farm`);
  if (readdirSync(root).length > 0) {
    throw new CapsuleError('INVALID_ARGUMENT', `${root} is not empty; choose a new folder (farm init never writes into existing files)`);
  }
}

/**
 * A new farm in `dir`: one set of keys made once and imported into N homes, each with its own
 * repository, the same admin, encapsulated tokens on, and an HAProxy configuration. Built in a
 * sibling folder and renamed into place, so a failure leaves no half-made farm.
 */
export async function initFarm(options: InitFarmOptions): Promise<InitFarmResult> {
  const { port, healthCheck } = checkOptions(options);
  const paths = farmPaths(options.dir);
  checkTarget(paths.root);
  mkdirSync(dirname(paths.root), { recursive: true });
  const staging = join(dirname(paths.root), `.${basename(paths.root)}.init-${randomBytes(4).toString('hex')}`);
  const stagingPaths = farmPaths(staging);
  const manifest: FarmManifest = {
    format: FARM_FORMAT,
    loadBalancer: { host: LOOPBACK, port },
    healthCheck,
    instances: Array.from({ length: options.publishers }, (_, index) => ({
      name: `${PUBLISH_PREFIX}${index + 1}`,
      home: `${PUBLISH_PREFIX}${index + 1}`,
      port: port + index + 1,
    })),
  };
  const keys: BundleKeys = { master: generateKey(), hmac: generateKey(), retiredHmac: [] };
  const adminPassword = randomBytes(18).toString('base64url');
  mkdirSync(staging, { mode: 0o700 });
  try {
    writeFileAtomic(stagingPaths.adminPassword, `${adminPassword}\n`, 0o600);
    for (const instance of instancesOf(manifest, stagingPaths)) {
      await prepareInstanceHome(instance.home, { keys, adminPassword, hasher: options.hasher });
    }
    writeFileAtomic(stagingPaths.haproxyConfig, renderHaproxyConfig(manifest, paths), 0o644);
    writeManifest(stagingPaths, manifest);
    checkTarget(paths.root); // nobody wrote there meanwhile
    renameSync(staging, paths.root); // replaces an empty folder
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  const instances = instancesOf(manifest, paths).map(({ name, home, port: instancePort }) => ({ name, home, port: instancePort }));
  const lb = loadBalancerUrl(manifest);
  return {
    dir: paths.root,
    loadBalancer: lb,
    haproxyConfig: paths.haproxyConfig,
    adminPasswordFile: paths.adminPassword,
    master: keyId(keys.master),
    hmac: keyId(keys.hmac),
    instances,
    message: [
      `created a farm of ${instances.length} instance${instances.length === 1 ? '' : 's'} in ${paths.root}: load balancer ${lb} (HAProxy, ${paths.haproxyConfig}), ${instances.map((instance) => `${instance.name} :${instance.port}`).join(', ')}`,
      `every instance has master ${keyId(keys.master)} and hmac ${keyId(keys.hmac)}, encapsulated tokens, and the admin password in ${paths.adminPassword} (mode 0600)`,
      `next: 'capsule farm users add ID --password-stdin --dir ${paths.root}', then 'capsule farm up --dir ${paths.root}'`,
    ].join('\n'),
  };
}
