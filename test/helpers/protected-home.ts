import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openServices } from '../../src/instance/index.js';
import { systemClock } from '../../src/clock.js';

export const SECRETS = { 'org.example.ims~analytics': 'analytics-secret', 'org.example.ims~target': 'target-secret' } as const;
export const FILE_SECRET = 'file-secret';

/** Writes protected values into the repository and into a config file of `home`. */
export async function writeProtectedValues(home: string): Promise<void> {
  const services = await openServices({ home, clock: systemClock });
  try {
    for (const [pid, secret] of Object.entries(SECRETS)) {
      await services.config.update(pid, { 'client.secret': services.crypto.protect(secret), 'client.id': pid });
    }
    mkdirSync(join(home, 'config'), { recursive: true });
    writeFileSync(join(home, 'config', 'org.example.mail.json'), JSON.stringify({ password: services.crypto.protect(FILE_SECRET) }));
  } finally {
    await services.close();
  }
}

/** Decrypts every value written by `writeProtectedValues`, with the keys the home has now. */
export async function readProtectedValues(home: string): Promise<Record<string, string>> {
  const services = await openServices({ home, clock: systemClock });
  try {
    const result: Record<string, string> = {};
    for (const pid of Object.keys(SECRETS)) {
      result[pid] = services.crypto.unprotect(services.config.stored(pid)!['client.secret'] as string);
    }
    const { readFileSync } = await import('node:fs');
    const file = JSON.parse(readFileSync(join(home, 'config', 'org.example.mail.json'), 'utf8')) as { password: string };
    result.file = services.crypto.unprotect(file.password);
    return result;
  } finally {
    await services.close();
  }
}

export const EXPECTED_VALUES = { ...SECRETS, file: FILE_SECRET };
