/**
 * A tiny escaping template: every interpolated value is HTML-escaped unless it is already
 * `SafeHtml` (the result of another `html` template), so markup is built only from literals.
 */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  // null, undefined and false render nothing, so `${cond && html`…`}` reads naturally.
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let text = strings[0] ?? '';
  values.forEach((value, index) => {
    text += render(value) + (strings[index + 1] ?? '');
  });
  return new SafeHtml(text);
}

/**
 * An id, path or URL that may wrap after its separators (`/`, `.`, `~`, `_`) where a narrow window
 * needs it, rather than between two letters: escaped, with a `<wbr>` after each separator.
 */
export function breakable(text: string): SafeHtml {
  return new SafeHtml(escapeHtml(text).replace(/[/.~_]/g, '$&<wbr>'));
}
