import { z } from 'zod';
import { carriesCredentials, isSafeUrlForCredentials } from '../support/loopback.js';

/**
 * A component's configuration properties, declared once with name, type, default, title and
 * description: the CLI validates with it, the console renders forms from it.
 */
export type ConfigValue = string | number | boolean | readonly string[];
export type ConfigValues = Readonly<Record<string, ConfigValue>>;

export type PropertyKind = 'boolean' | 'integer' | 'string' | 'choice' | 'secret' | 'string[]';

export interface PropertyDefinition {
  readonly kind: PropertyKind;
  readonly title: string;
  readonly description: string;
  readonly default?: ConfigValue;
  readonly required?: boolean;
  readonly choices?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  /** Values span lines (PEM): a form shows a text area, since a one-line field drops the line breaks. */
  readonly multiline?: boolean;
  /** Validates one value of this property (already converted from text, see `parseText`). */
  readonly schema: z.ZodType<ConfigValue>;
}

export interface ComponentDefinition {
  readonly pid: string;
  readonly title: string;
  readonly description: string;
  /** A factory component is configured many times, as `pid~name`. */
  readonly factory?: boolean;
  readonly properties: Readonly<Record<string, PropertyDefinition>>;
}

interface Common<T> {
  readonly title: string;
  readonly description?: string;
  readonly default?: T;
  readonly required?: boolean;
}

function define(kind: PropertyKind, common: Common<ConfigValue>, schema: z.ZodType<ConfigValue>, extra: Partial<PropertyDefinition> = {}): PropertyDefinition {
  return { kind, description: '', ...common, ...extra, schema };
}

export const property = {
  boolean: (common: Common<boolean>) => define('boolean', common, z.boolean()),
  integer: (common: Common<number> & { min?: number; max?: number }) => {
    let schema = z.number().int();
    if (common.min !== undefined) schema = schema.min(common.min);
    if (common.max !== undefined) schema = schema.max(common.max);
    return define('integer', common, schema, { min: common.min, max: common.max });
  },
  string: (common: Common<string> & { pattern?: RegExp; patternHint?: string }) => {
    const base = common.required ? z.string().min(1) : z.string();
    const schema = common.pattern ? base.regex(common.pattern, common.patternHint) : base;
    return define('string', common, schema);
  },
  url: (common: Common<string>) =>
    define('string', common, z.string().url().refine((url) => /^https?:/.test(url), 'must be an http or https URL').refine((url) => !carriesCredentials(url), NO_CREDENTIALS_HINT)),
  /**
   * A URL a browser or this instance is sent to on a user's behalf (a sign-in or logout at an
   * identity provider, its metadata): https, plain http only to this machine, as the CLI checks
   * it. Empty (when not required): none.
   */
  safeUrl: (common: Common<string>) =>
    define(
      'string',
      common,
      z
        .string()
        .refine((text) => (text === '' && !common.required) || isSafeUrlForCredentials(text), SAFE_URL_HINT)
        .refine((text) => !carriesCredentials(text), NO_CREDENTIALS_HINT),
    ),
  choice: <const C extends readonly [string, ...string[]]>(choices: C, common: Common<C[number]>) =>
    define('choice', common, z.enum(choices), { choices }),
  /** Protected with the master key when written; never shown in clear. */
  secret: (common: Common<never>) => define('secret', common, z.string().min(1)),
  stringList: (common: Common<readonly string[]>) => define('string[]', common, z.array(z.string())),
};

/** A password in a URL would be shown wherever the URL is: in logs, status and the console. */
const NO_CREDENTIALS_HINT = 'must not carry a user name or password (user:secret@): give credentials in their own settings';
const SAFE_URL_HINT = 'must be an https URL (plain http only to a loopback address: 127.x.x.x, localhost, [::1])';

export function defineComponent(component: ComponentDefinition): ComponentDefinition {
  return component;
}

/** Converts text from a command line or a form field to the property's type. */
export function parseText(definition: PropertyDefinition | undefined, text: string): ConfigValue {
  switch (definition?.kind) {
    case 'boolean': {
      const lower = text.trim().toLowerCase();
      if (['true', 'on', 'yes', '1'].includes(lower)) return true;
      if (['false', 'off', 'no', '0', ''].includes(lower)) return false;
      return text; // left for the schema to refuse with its message
    }
    case 'integer':
      return /^\s*-?\d+\s*$/.test(text) ? Number(text) : text;
    case 'string[]':
      return text === '' ? [] : text.split(',').map((item) => item.trim());
    default:
      return text;
  }
}
