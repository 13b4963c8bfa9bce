import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CapsuleError } from '../errors.js';
import type { ConfigValue, ConfigValues } from './schema.js';

/**
 * `$[env:NAME]` and `$[secret:NAME]` inside a configuration value (AEM as a Cloud Service's
 * syntax): resolved each time the value is read, from the environment or from the file NAME in
 * the folder CAPSULE_SECRETS_DIR names (a mounted Kubernetes Secret). The configuration holds
 * the reference, never the secret.
 */
const REFERENCE = /\$\[(env|secret):([A-Za-z_][A-Za-z0-9_.-]*)\]/g;

export function hasReference(value: string): boolean {
  return new RegExp(REFERENCE.source).test(value);
}

function resolveOne(pid: string, key: string, kind: string, name: string, env: NodeJS.ProcessEnv): string {
  if (kind === 'env') {
    const value = env[name];
    if (value === undefined) throw new CapsuleError('INVALID_CONFIG', `${pid}: ${key} references $[env:${name}], which is not set in the environment`);
    return value;
  }
  const dir = env.CAPSULE_SECRETS_DIR;
  if (!dir) throw new CapsuleError('INVALID_CONFIG', `${pid}: ${key} references $[secret:${name}], but CAPSULE_SECRETS_DIR is not set (the folder where secrets are mounted)`);
  try {
    return readFileSync(join(dir, name), 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new CapsuleError('INVALID_CONFIG', `${pid}: ${key} references $[secret:${name}], which is not in ${dir} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

function resolveValue(pid: string, key: string, value: ConfigValue, env: NodeJS.ProcessEnv): ConfigValue {
  if (typeof value === 'string') return hasReference(value) ? value.replace(REFERENCE, (_match, kind: string, name: string) => resolveOne(pid, key, kind, name, env)) : value;
  if (Array.isArray(value)) return value.map((item) => (typeof item === 'string' ? (resolveValue(pid, key, item, env) as string) : item)) as ConfigValue;
  return value;
}

export function resolveReferences(pid: string, values: ConfigValues, env: NodeJS.ProcessEnv = process.env): ConfigValues {
  const resolved: Record<string, ConfigValue> = {};
  for (const [key, value] of Object.entries(values)) resolved[key] = resolveValue(pid, key, value, env);
  return resolved;
}
