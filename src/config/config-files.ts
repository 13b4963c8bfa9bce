import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CapsuleError } from '../errors.js';
import type { ConfigValue } from './schema.js';
import type { ConfigAdmin } from './types.js';

/** `<home>/config/<pid>.json` files: one JSON object of property values each. */
export function readConfigFiles(dir: string): Array<{ pid: string; file: string; values: Record<string, ConfigValue> }> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CapsuleError('HOME_UNREADABLE', `cannot read the configuration folder ${dir}: ${(error as Error).message}`);
  }
  return names.map((name) => {
    const file = join(dir, name);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new CapsuleError('INVALID_CONFIG', `${file} is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new CapsuleError('INVALID_CONFIG', `${file} must hold one JSON object of property values`);
    }
    return { pid: name.slice(0, -'.json'.length), file, values: parsed as Record<string, ConfigValue> };
  });
}

/** Applies every configuration file whose values differ from what is stored; returns the PIDs applied. */
export async function applyConfigFiles(config: ConfigAdmin, dir: string): Promise<string[]> {
  const applied: string[] = [];
  for (const { pid, file, values } of readConfigFiles(dir)) {
    const current = config.stored(pid) ?? {};
    const differs = Object.entries(values).some(([key, value]) => JSON.stringify(current[key]) !== JSON.stringify(value));
    if (!differs) continue;
    try {
      await config.update(pid, values);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new CapsuleError('INVALID_CONFIG', `${file}: ${message}`, { cause: error });
    }
    applied.push(pid);
  }
  return applied;
}
