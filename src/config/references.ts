import type { ComponentDefinition, ConfigValues, PropertyDefinition } from './schema.js';
import { referencesIn, unresolvedReason, wholeReference } from '../support/references.js';

// The grammar of references and what they may name live in support/, where crypto's value scan
// reads them too; this module says which configuration properties resolve them.
export { forbiddenReason, isPartialReference, referencesIn, referenceSource, resolveReference, wholeReference } from '../support/references.js';
export type { ConfigReference } from '../support/references.js';

/** Whether a property resolves references: secret properties only. */
export function acceptsReferences(definition: PropertyDefinition | undefined): boolean {
  return definition?.kind === 'secret';
}

/**
 * One message per reference in `values` (of the properties that resolve them) that does not
 * resolve in `env`: for a warning when such a configuration is written from a shell that does
 * not have the server's environment.
 */
export function unresolvedReferences(pid: string, component: ComponentDefinition | undefined, values: ConfigValues, env: NodeJS.ProcessEnv): string[] {
  const messages: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (!acceptsReferences(component?.properties[key]) || typeof value !== 'string') continue;
    const reference = wholeReference(value);
    const reason = reference === null ? null : unresolvedReason(reference, env);
    if (reason !== null) messages.push(`${pid}: ${key} references ${reference!.text}, ${reason}`);
  }
  return messages;
}

/**
 * One message per property (of a known component) that is no secret yet holds a reference, stored
 * by a version that resolved references everywhere: it is now used literally, which an operator
 * upgrading must learn from the start log rather than from a client that stopped working.
 */
export function literalReferences(pid: string, component: ComponentDefinition | undefined, values: ConfigValues): string[] {
  if (component === undefined) return [];
  const messages: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (component.properties[key] === undefined || acceptsReferences(component.properties[key])) continue;
    const [reference] = referencesIn(value);
    if (reference !== undefined) {
      messages.push(`${pid}: ${key} holds ${reference.text}, which is no longer resolved (only secret properties resolve references): it is used as written; write the value itself (capsule config set ${pid} ${key}=…)`);
    }
  }
  return messages;
}
