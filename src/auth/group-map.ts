import { CapsuleError } from '../errors.js';

/** `a=b` entries (provider group = Capsule group) as a map; one clear error for an entry without '='. Shared by every external login handler. */
export function parseGroupMap(entries: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of entries) {
    const at = entry.indexOf('=');
    if (at <= 0 || at === entry.length - 1) {
      throw new CapsuleError('INVALID_ARGUMENT', `group map entry '${entry}' is not 'provider-group=capsule-group'`);
    }
    map.set(entry.slice(0, at).trim(), entry.slice(at + 1).trim());
  }
  return map;
}
