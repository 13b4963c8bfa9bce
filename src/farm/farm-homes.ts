import { openServices, type Services } from '../instance/services.js';
import type { PasswordHasher } from '../users/index.js';
import { instancesOf, readManifest, type FarmInstance, type FarmManifest, type FarmPaths } from './manifest.js';

export interface OpenInstance {
  readonly instance: FarmInstance;
  readonly services: Services;
}

/** Opens the services of every instance home of the farm for one operation, and always closes them. */
export async function withFarmHomes<T>(
  paths: FarmPaths,
  options: { hasher?: PasswordHasher },
  work: (homes: readonly OpenInstance[], manifest: FarmManifest) => Promise<T>,
): Promise<T> {
  const manifest = readManifest(paths);
  const opened: OpenInstance[] = [];
  try {
    for (const instance of instancesOf(manifest, paths)) {
      opened.push({ instance, services: await openServices({ home: instance.home, hasher: options.hasher }) });
    }
    return await work(opened, manifest);
  } finally {
    await Promise.all(opened.map(({ services }) => services.close()));
  }
}

export function namesOf(homes: readonly OpenInstance[]): string {
  return homes.map(({ instance }) => instance.name).join(', ');
}
