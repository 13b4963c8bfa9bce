import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { CapsuleError } from '../errors.js';
import { writeFileAtomic } from '../support/atomic-file.js';

/** `D/farm.json`: what the farm commands know of a farm. Homes are relative to D, so D can move. */
export const FARM_FORMAT = 'capsule-farm/1';
export const MAX_INSTANCES = 32;
export const LOOPBACK = '127.0.0.1';

const instanceSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  home: z.string().min(1),
  port: z.number().int().min(1).max(65535),
});

const manifestSchema = z.object({
  format: z.literal(FARM_FORMAT),
  loadBalancer: z.object({ host: z.string(), port: z.number().int().min(1).max(65535) }),
  healthCheck: z.object({ intervalMs: z.number().int().min(100), fall: z.number().int().min(1), rise: z.number().int().min(1) }),
  instances: z.array(instanceSchema).min(1).max(MAX_INSTANCES),
});

export type FarmManifest = z.infer<typeof manifestSchema>;
export type FarmInstanceEntry = z.infer<typeof instanceSchema>;
export type HealthCheckSettings = FarmManifest['healthCheck'];

export const DEFAULT_HEALTH_CHECK: HealthCheckSettings = { intervalMs: 2000, fall: 2, rise: 2 };

/** Every file a farm folder holds. */
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

/** An instance as the commands use it: its home made absolute. */
export interface FarmInstance {
  readonly name: string;
  readonly home: string;
  readonly port: number;
  readonly url: string;
}

/** The farm's admin login (farm init writes the password), with which farm commands read what instances show administrators only. */
export function farmAdminCredentials(paths: FarmPaths): { user: string; password: string } | undefined {
  if (!existsSync(paths.adminPassword)) return undefined;
  return { user: 'admin', password: readFileSync(paths.adminPassword, 'utf8').trim() };
}

export function instancesOf(manifest: FarmManifest, paths: FarmPaths): FarmInstance[] {
  return manifest.instances.map((entry) => ({
    name: entry.name,
    home: isAbsolute(entry.home) ? entry.home : join(paths.root, entry.home),
    port: entry.port,
    url: `http://${LOOPBACK}:${entry.port}`,
  }));
}

export function loadBalancerUrl(manifest: FarmManifest): string {
  return `http://${manifest.loadBalancer.host}:${manifest.loadBalancer.port}`;
}

export function readManifest(paths: FarmPaths): FarmManifest {
  let text: string;
  try {
    text = readFileSync(paths.manifest, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CapsuleError('HOME_UNREADABLE', `no farm at ${paths.root} (no farm.json); create one with 'capsule farm init --dir ${paths.root} --publishers N'`);
    }
    throw new CapsuleError('HOME_UNREADABLE', `cannot read ${paths.manifest}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CapsuleError('HOME_UNREADABLE', `${paths.manifest} is not JSON; restore it or create the farm again`);
  }
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new CapsuleError('HOME_UNREADABLE', `${paths.manifest} is not a ${FARM_FORMAT} manifest (${issue?.path.join('.') || 'top level'}: ${issue?.message ?? 'invalid'})`);
  }
  return result.data;
}

export function writeManifest(paths: FarmPaths, manifest: FarmManifest): void {
  writeFileAtomic(paths.manifest, `${JSON.stringify(manifest, null, 2)}\n`, 0o644);
}
