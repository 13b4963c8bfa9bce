import { CapsuleError } from '../errors.js';
import type { PropertyType, PropertyValue } from './types.js';

/** How one property is kept in storage: its type tag and a JSON-safe value. */
export interface StoredProperty {
  readonly t: PropertyType;
  readonly v: string | number | boolean | string[];
}

export function typeOf(name: string, value: PropertyValue): PropertyType {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new CapsuleError('INVALID_PROPERTY', `property '${name}' is a long and must be a whole number, got ${value}`);
    }
    return 'long';
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new CapsuleError('INVALID_PROPERTY', `property '${name}' is an invalid date`);
    return 'date';
  }
  if (value instanceof Uint8Array) return 'binary';
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return 'string[]';
  throw new CapsuleError('INVALID_PROPERTY', `property '${name}' has a value the repository cannot store`);
}

export function encodeProperty(name: string, value: PropertyValue): StoredProperty {
  const t = typeOf(name, value);
  switch (t) {
    case 'date':
      return { t, v: (value as Date).toISOString() };
    case 'binary':
      return { t, v: Buffer.from(value as Uint8Array).toString('base64') };
    case 'string[]':
      return { t, v: [...(value as readonly string[])] };
    default:
      return { t, v: value as string | number | boolean };
  }
}

export function decodeProperty(stored: StoredProperty): PropertyValue {
  switch (stored.t) {
    case 'date':
      return new Date(stored.v as string);
    case 'binary':
      return Buffer.from(stored.v as string, 'base64');
    default:
      return stored.v;
  }
}

/** All properties of a node as stored text (JSON of type-tagged values): the same on every backend. */
export function encodeProperties(properties: Readonly<Record<string, PropertyValue>>): string {
  const stored: Record<string, StoredProperty> = {};
  for (const [name, value] of Object.entries(properties)) stored[name] = encodeProperty(name, value);
  return JSON.stringify(stored);
}

export function decodeProperties(text: string): Record<string, PropertyValue> {
  const stored = JSON.parse(text) as Record<string, StoredProperty>;
  const properties: Record<string, PropertyValue> = {};
  for (const [name, value] of Object.entries(stored)) properties[name] = decodeProperty(value);
  return properties;
}

/** Only the `names` of the stored properties `text`, decoded (a hot path needs a few of many). */
export function decodeSomeProperties(text: string, names: readonly string[]): Record<string, PropertyValue> {
  const stored = JSON.parse(text) as Record<string, StoredProperty | undefined>;
  const properties: Record<string, PropertyValue> = {};
  for (const name of names) {
    const value = stored[name];
    if (value !== undefined) properties[name] = decodeProperty(value);
  }
  return properties;
}

/** The values of an indexed property that `findByProperty` finds (each element of a string[]). */
export function indexedValues(value: PropertyValue | undefined): readonly string[] {
  return typeof value === 'string' ? [value] : Array.isArray(value) ? (value as readonly string[]) : [];
}
