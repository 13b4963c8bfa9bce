import { join } from 'node:path';
import { openServices, type Services } from '../../src/instance/index.js';
import { fastHasher } from './services.js';
import { tempDir } from './temp.js';
import { systemClock } from '../../src/clock.js';

/** A new home's services with keys made and loaded, as `start` prepares them. The caller closes them. */
export function keyedServices(home = join(tempDir(), 'home')): Promise<Services> {
  return openServices({ home, create: true, keys: 'prepare', hasher: fastHasher, clock: systemClock });
}
