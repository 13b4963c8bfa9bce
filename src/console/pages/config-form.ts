import { parseText, type ComponentDefinition, type ConfigValue, type ConfigValues, type PropertyDefinition } from '../../config/index.js';
import { html, type SafeHtml } from '../html.js';
import type { FormBody } from '../types.js';

/** Form fields carry the property key behind this prefix, so they never clash with `pid`, `action` or `csrf`. */
const VALUE_PREFIX = 'v.';

export const fieldName = (key: string) => VALUE_PREFIX + key;

/** An element id from any text: letters and digits kept, everything else a dash. */
export function elementId(...parts: readonly string[]): string {
  return parts.join('--').replace(/[^A-Za-z0-9_-]/g, '-');
}

/** How a value reads in a text field. */
export function textOf(value: ConfigValue | undefined): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.join(', ');
  return String(value);
}

/** How a value reads in its form field: a multi-line list puts each entry (a PEM block) on lines of its own. */
function fieldTextOf(definition: PropertyDefinition, value: ConfigValue | undefined): string {
  return definition.multiline && Array.isArray(value) ? value.map((item) => item.trim()).join(',\n') : textOf(value);
}

/** Browsers send a text area's line breaks as CRLF. */
const submittedText = (definition: PropertyDefinition, text: string) => (definition.multiline ? text.replace(/\r\n?/g, '\n') : text);

/** What a form shows: stored values (merged with defaults), or what was just submitted. */
export interface FormState {
  /** The values as the fields show them (booleans as 'true' or ''). */
  readonly text: Readonly<Record<string, string>>;
  /** For secrets: whether one is stored. */
  readonly secretsSet: Readonly<Record<string, boolean>>;
  readonly errors: Readonly<Record<string, string>>;
}

export function stateOfValues(component: ComponentDefinition, current: ConfigValues, stored: ConfigValues | null): FormState {
  const text: Record<string, string> = {};
  const secretsSet: Record<string, boolean> = {};
  for (const [key, definition] of Object.entries(component.properties)) {
    if (definition.kind === 'secret') secretsSet[key] = typeof stored?.[key] === 'string';
    else if (definition.kind === 'boolean') text[key] = current[key] === true ? 'true' : '';
    else text[key] = fieldTextOf(definition, current[key]);
  }
  return { text, secretsSet, errors: {} };
}

function hint(definition: PropertyDefinition): string {
  const parts: string[] = [];
  if (definition.min !== undefined && definition.max !== undefined) parts.push(`${definition.min} to ${definition.max}`);
  else if (definition.min !== undefined) parts.push(`at least ${definition.min}`);
  if (definition.kind === 'string[]') parts.push('comma-separated');
  if (definition.default !== undefined && definition.kind !== 'boolean' && textOf(definition.default) !== '') parts.push(`default ${textOf(definition.default)}`);
  if (definition.required) parts.push('required');
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

function control(id: string, key: string, definition: PropertyDefinition, state: FormState, errorId: string | null): SafeHtml {
  const name = fieldName(key);
  const value = state.text[key] ?? '';
  const described = errorId ? html` aria-invalid="true" aria-describedby="${errorId}"` : html``;
  if (definition.multiline) {
    // The newline after the tag is dropped by the HTML parser, so a value's own first line break survives.
    if (definition.kind !== 'secret') return html`<textarea id="${id}" name="${name}" rows="6" class="mono" spellcheck="false"${described}>\n${value}</textarea>`;
    const isSet = state.secretsSet[key] === true;
    return html`<textarea id="${id}" name="${name}" rows="3" class="mono" spellcheck="false" autocomplete="off" placeholder="${isSet ? 'set (leave empty to keep)' : 'not set'}"${described}></textarea>
        <span class="badge ${isSet ? 'ok' : 'muted'}">${isSet ? 'set' : 'not set'}</span>`;
  }
  switch (definition.kind) {
    case 'boolean':
      return html`<input type="checkbox" id="${id}" name="${name}" value="true"${value === 'true' ? html` checked` : ''}${described}>`;
    case 'integer':
      return html`<input type="number" id="${id}" name="${name}" value="${value}" step="1"${described}>`;
    case 'choice':
      return html`<select id="${id}" name="${name}"${described}>${(definition.choices ?? []).map(
        (choice) => html`<option value="${choice}"${choice === value ? html` selected` : ''}>${choice}</option>`,
      )}</select>`;
    case 'secret': {
      const isSet = state.secretsSet[key] === true;
      return html`<input type="password" id="${id}" name="${name}" value="" autocomplete="new-password" placeholder="${isSet ? 'set (leave empty to keep)' : 'not set'}"${described}>
        <span class="badge ${isSet ? 'ok' : 'muted'}">${isSet ? 'set' : 'not set'}</span>`;
    }
    default:
      return html`<input type="text" id="${id}" name="${name}" value="${value}"${described}>`;
  }
}

/** The fields of one component's form, each with its label, description and (after a failed save) error. */
export function formFields(component: ComponentDefinition, formId: string, state: FormState): SafeHtml {
  return html`${Object.entries(component.properties).map(([key, definition]) => {
    const id = elementId(formId, key);
    const error = state.errors[key];
    const errorId = error ? `${id}--error` : null;
    return html`<div class="field${error ? ' invalid' : ''}" data-property="${key}">
      <label for="${id}">${definition.title}</label>
      <div>${control(id, key, definition, state, errorId)}</div>
      ${error && html`<p class="error" id="${errorId}" role="alert">${error}</p>`}
      <span class="help"><code>${key}</code> · ${definition.description}${hint(definition)}</span>
    </div>`;
  })}`;
}

export interface ParsedForm {
  /** Only what differs from the current values; null removes a property (back to its default). */
  readonly changes: Readonly<Record<string, ConfigValue | null>>;
  readonly errors: Readonly<Record<string, string>>;
  /** The submitted text, to show again when something was wrong (secrets never included). */
  readonly state: FormState;
}

/**
 * Reads a submitted form against the component's schema. `current` is what the fields showed
 * (null for a new factory configuration: then every given value is a change).
 */
export function parseForm(component: ComponentDefinition, form: FormBody, current: ConfigValues | null, stored: ConfigValues | null): ParsedForm {
  const changes: Record<string, ConfigValue | null> = {};
  const errors: Record<string, string> = {};
  const text: Record<string, string> = {};
  const secretsSet: Record<string, boolean> = {};
  for (const [key, definition] of Object.entries(component.properties)) {
    const submitted = submittedText(definition, form[fieldName(key)] ?? '');
    if (definition.kind === 'boolean') {
      const checked = submitted === 'true';
      text[key] = checked ? 'true' : '';
      if (current === null ? checked !== (definition.default ?? false) : checked !== (current[key] === true)) changes[key] = checked;
      continue;
    }
    if (definition.kind === 'secret') {
      secretsSet[key] = typeof stored?.[key] === 'string';
      if (submitted === '') {
        if (!secretsSet[key] && definition.required) errors[key] = 'required: enter a value';
        continue;
      }
    } else {
      text[key] = submitted;
      if (current !== null && submitted === fieldTextOf(definition, current[key])) continue;
    }
    if (definition.kind !== 'secret' && submitted.trim() === '') {
      if (definition.required && definition.default === undefined) errors[key] = 'required: enter a value';
      else if (current !== null) changes[key] = null;
      continue;
    }
    const parsed = definition.schema.safeParse(parseText(definition, submitted));
    if (parsed.success) changes[key] = parsed.data;
    else errors[key] = parsed.error.issues[0]?.message ?? 'invalid value';
  }
  return { changes, errors, state: { text, secretsSet, errors } };
}

/**
 * The configuration admin names the property in its messages ("pid: key: reason" or "pid: key
 * is required"), so an error found only on save can still be shown next to its field.
 */
export function fieldOfConfigError(pid: string, message: string, component: ComponentDefinition): { key: string; reason: string } | null {
  if (!message.startsWith(`${pid}: `)) return null;
  const rest = message.slice(pid.length + 2);
  for (const key of Object.keys(component.properties)) {
    if (rest.startsWith(`${key}: `)) return { key, reason: rest.slice(key.length + 2) };
    if (rest.startsWith(`${key} `)) return { key, reason: rest.slice(key.length + 1) };
  }
  return null;
}
