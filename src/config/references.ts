import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CapsuleError } from '../errors.js';
import type { ComponentDefinition, ConfigValue, ConfigValues, PropertyDefinition } from './schema.js';

/**
 * `$[env:NAME]` and `$[secret:NAME]` inside a secret configuration value (AEM as a Cloud
 * Service's syntax): resolved each time the secret is used, from the environment or from the
 * file NAME in the folder CAPSULE_SECRETS_DIR names (a mounted Kubernetes Secret). The
 * configuration holds the reference, never the secret. Only secret properties accept them: a
 * reference anywhere else would copy the server's environment into whatever shows that
 * property (a provider's title on the public login page), so it is refused when written and a
 * value stored before is taken literally.
 */
const REFERENCE = /\$\[(env|secret):([A-Za-z_][A-Za-z0-9_.-]*)\]/g;

export interface ConfigReference {
  /** As written: `$[env:NAME]`. */
  readonly text: string;
  readonly kind: 'env' | 'secret';
  readonly name: string;
}

export function hasReference(value: string): boolean {
  return new RegExp(REFERENCE.source).test(value);
}

/** Whether a property resolves references: secret properties only. */
export function acceptsReferences(definition: PropertyDefinition | undefined): boolean {
  return definition?.kind === 'secret';
}

/** The references in a value (each element of a list), in order. */
export function referencesIn(value: ConfigValue): ConfigReference[] {
  const texts = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  return texts.flatMap((text) => [...text.matchAll(REFERENCE)].map(([match, kind, name]) => ({ text: match, kind: kind as 'env' | 'secret', name: name! })));
}

/** Where a reference reads from, for people: `environment variable NAME`. */
export function referenceSource(reference: ConfigReference): string {
  return reference.kind === 'env' ? `environment variable ${reference.name}` : `secret file ${reference.name} (in CAPSULE_SECRETS_DIR)`;
}

/** Why a reference does not resolve in `env`, or null when it does. */
function unresolvedReason(reference: ConfigReference, env: NodeJS.ProcessEnv): string | null {
  if (reference.kind === 'env') return env[reference.name] === undefined ? 'which is not set in the environment' : null;
  const dir = env.CAPSULE_SECRETS_DIR;
  if (!dir) return 'but CAPSULE_SECRETS_DIR is not set (the folder where secrets are mounted)';
  try {
    readFileSync(join(dir, reference.name));
    return null;
  } catch (error) {
    return `which is not in ${dir} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`;
  }
}

function resolveOne(what: string, reference: ConfigReference, env: NodeJS.ProcessEnv): string {
  if (reference.kind === 'env') {
    const value = env[reference.name];
    if (value !== undefined) return value;
  } else if (env.CAPSULE_SECRETS_DIR) {
    try {
      return readFileSync(join(env.CAPSULE_SECRETS_DIR, reference.name), 'utf8').replace(/\r?\n$/, '');
    } catch {
      // said below, with the reason
    }
  }
  throw new CapsuleError('INVALID_CONFIG', `${what} references ${reference.text}, ${unresolvedReason(reference, env) ?? 'which did not resolve'}`);
}

/**
 * The text with its references replaced. `what` names the value in the error
 * (`capsule.metrics: scrape.token`), which names the reference, never a value.
 */
export function resolveText(what: string, text: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!hasReference(text)) return text;
  return text.replace(REFERENCE, (match, kind: 'env' | 'secret', name: string) => resolveOne(what, { text: match, kind, name }, env));
}

/**
 * One message per reference in `values` (of the properties that resolve them) that does not
 * resolve in `env`: for a warning when such a configuration is written from a shell that does
 * not have the server's environment.
 */
export function unresolvedReferences(pid: string, component: ComponentDefinition | undefined, values: ConfigValues, env: NodeJS.ProcessEnv): string[] {
  const messages: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (!acceptsReferences(component?.properties[key])) continue;
    for (const reference of referencesIn(value)) {
      const reason = unresolvedReason(reference, env);
      if (reason !== null) messages.push(`${pid}: ${key} references ${reference.text}, ${reason}`);
    }
  }
  return messages;
}
