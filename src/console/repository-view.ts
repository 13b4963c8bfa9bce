import { isProtectedValue, keyIdOfProtected, KEY_NODE } from '../crypto/index.js';
import type { PropertyValue } from '../repository/index.js';

/** How the repository browser shows one property value: text, or why it is hidden. */
export type PropertyView =
  | { readonly kind: 'text'; readonly type: string; readonly text: string }
  | { readonly kind: 'hidden'; readonly type: string; readonly reason: string };

/** Hashes of passwords and token secrets: useless to a reader, useful to an attacker offline. */
const HASH_PROPERTIES = new Set(['passwordHash', 'tokenHash']);
/** Anything else whose name says it holds a secret is hidden too: failing closed costs nothing here. */
const SECRET_NAME = /(password|passwd|secret|hash|privatekey|apikey)/i;
/** The key properties of repository key storage (`mac` is the legacy name of `hmac`). */
const KEY_PROPERTIES = new Set(['master', 'hmac', 'mac']);
const MAX_TEXT = 2000;

function typeOf(value: PropertyValue): string {
  if (typeof value === 'string') return 'String';
  if (typeof value === 'number') return 'Long';
  if (typeof value === 'boolean') return 'Boolean';
  if (value instanceof Date) return 'Date';
  if (value instanceof Uint8Array) return 'Binary';
  return 'String[]';
}

function isUnderKeyNode(path: string): boolean {
  return path === KEY_NODE || path.startsWith(`${KEY_NODE}/`);
}

/**
 * Decides what of a property may be shown. Binary values are never shown or offered for
 * download, and under /etc/key not even their size; hashes and secrets are hidden; a protected
 * value shows only the id of the key that encrypted it.
 */
export function viewOfProperty(nodePath: string, name: string, value: PropertyValue): PropertyView {
  const type = typeOf(value);
  if (isUnderKeyNode(nodePath) && (KEY_PROPERTIES.has(name) || value instanceof Uint8Array)) {
    return { kind: 'hidden', type, reason: 'key material: never shown' };
  }
  if (value instanceof Uint8Array) return { kind: 'hidden', type, reason: `binary, ${value.length} bytes` };
  if (typeof value === 'string' && isProtectedValue(value)) {
    return { kind: 'hidden', type, reason: `protected value, master key ${keyIdOfProtected(value) ?? 'unknown'}` };
  }
  if (HASH_PROPERTIES.has(name) || SECRET_NAME.test(name)) return { kind: 'hidden', type, reason: 'secret: not shown' };
  if (value instanceof Date) return { kind: 'text', type, text: value.toISOString() };
  const text = Array.isArray(value) ? `[${value.join(', ')}]` : String(value);
  return { kind: 'text', type, text: text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text };
}
