import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { CapsuleError } from '../errors.js';
import { writeFileAtomic } from '../support/atomic-file.js';
import { adminCredentials, type AdminCredentials } from './remote/admin-client.js';
import { parseManifestV2, type FarmManifestV2 } from './remote/manifest.js';

/**
 * The local development farm's folder D: `D/farm.json` is a capsule-farm/2 manifest (members
 * by URL, what every farm command reads) with an extra `local` part that only `farm up` and
 * `farm add-instance` read: where each member's home is, and the load balancer's address.
 */
export const MAX_PUBLISHERS = 32;
export const LOAD_BALANCER_HOST = '127.0.0.1';
/** A local farm's agents try a publish that is not up yet (just added) again after this long. */
export const LOCAL_RETRY_DELAY_SECONDS = 2;

const localSchema = z.object({
  /** Member name -> its home, relative to D (so D can move). */
  homes: z.record(z.string(), z.string().min(1)),
  loadBalancer: z.object({ host: z.string(), port: z.number().int().min(1).max(65535) }),
  healthCheck: z.object({ intervalMs: z.number().int().min(100), fall: z.number().int().min(1), rise: z.number().int().min(1) }),
  /** Login POSTs per client address a minute at HAProxy (0: none); absent in a farm.json older than the limit: the default. */
  loginsPerMinute: z.number().int().min(0).optional(),
});

export type LocalSettings = z.infer<typeof localSchema>;
export type HealthCheckSettings = LocalSettings['healthCheck'];
export const DEFAULT_HEALTH_CHECK: HealthCheckSettings = { intervalMs: 2000, fall: 2, rise: 2 };

export function farmPaths(dir: string) {
  const root = resolve(dir);
  return {
    root,
    manifest: join(root, 'farm.json'),
    haproxyConfig: join(root, 'haproxy.cfg'),
    adminPassword: join(root, 'admin-password'),
    runDir: join(root, 'run'),
  };
}

export type FarmPaths = ReturnType<typeof farmPaths>;

/** A member as `farm up` runs it: its address, port and home. */
export interface LocalMember {
  readonly name: string;
  readonly role: 'author' | 'publish';
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly home: string;
}

export interface LocalFarm {
  readonly manifest: FarmManifestV2;
  readonly local: LocalSettings;
  readonly members: readonly LocalMember[];
}

function readText(paths: FarmPaths): string {
  try {
    return readFileSync(paths.manifest, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CapsuleError('INVALID_ARGUMENT', `no farm at ${paths.root} (no farm.json); create one with 'capsule farm init --dir ${paths.root} --publishers N'`);
    }
    throw new CapsuleError('INVALID_ARGUMENT', `cannot read ${paths.manifest} (${(error as NodeJS.ErrnoException).code})`);
  }
}

/** The manifest alone: what the commands that work over HTTP need. */
export function readFarmManifest(paths: FarmPaths): FarmManifestV2 {
  return parseManifestV2(readText(paths), paths.manifest);
}

/** The farm's admin login: `D/admin-password` (0600), unless a password file is named. */
export function farmCredentials(paths: FarmPaths, options: { user?: string; passwordFile?: string; apiKeyFile?: string; passwordOnly?: boolean; env: NodeJS.ProcessEnv }): AdminCredentials {
  return adminCredentials({ ...options, passwordFile: options.passwordFile ?? paths.adminPassword });
}

export function portOf(url: URL): number {
  return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
}

/** The manifest and its `local` part, for the commands that run or make members on this machine. */
export function readLocalFarm(paths: FarmPaths): LocalFarm {
  const text = readText(paths);
  const manifest = parseManifestV2(text, paths.manifest);
  const result = localSchema.safeParse((JSON.parse(text) as { local?: unknown }).local);
  if (!result.success) {
    throw new CapsuleError('INVALID_ARGUMENT', `${paths.manifest} has no valid "local" part (homes, loadBalancer, healthCheck): it describes a farm on other machines; 'farm up' runs only a farm made by 'capsule farm init'`);
  }
  const local = result.data;
  const members = manifest.members.map((member): LocalMember => {
    const home = local.homes[member.name];
    if (!home) throw new CapsuleError('INVALID_ARGUMENT', `${paths.manifest}: no home for ${member.name} in "local.homes"`);
    const url = new URL(member.url);
    return { name: member.name, role: member.role, url: member.url, host: url.hostname, port: portOf(url), home: isAbsolute(home) ? home : join(paths.root, home) };
  });
  return { manifest, local, members };
}

export function writeLocalFarm(paths: FarmPaths, manifest: FarmManifestV2, local: LocalSettings): void {
  writeFileAtomic(paths.manifest, `${JSON.stringify({ ...manifest, local }, null, 2)}\n`, 0o644);
}
