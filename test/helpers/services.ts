import { after } from 'node:test';
import { createArgon2Hasher } from '../../src/users/index.js';
import { openServices, type Services } from '../../src/instance/index.js';
import { openSqliteRepository, type Repository } from '../../src/repository/index.js';
import { join } from 'node:path';
import { tempDir } from './temp.js';
import { systemClock } from '../../src/clock.js';

/** Cheap argon2id parameters: the algorithm is the real one, only slower settings are skipped. */
export const fastHasher = createArgon2Hasher({ memoryCost: 1024, timeCost: 1 });

export function tempRepository(): Repository {
  const repo = openSqliteRepository({ file: join(tempDir(), 'repository.sqlite'), create: true, clock: systemClock });
  after(() => repo.close());
  return repo;
}

export async function tempServices(home = join(tempDir(), 'home')): Promise<Services> {
  const services = await openServices({ home, create: true, hasher: fastHasher, clock: systemClock });
  after(() => services.close());
  return services;
}
