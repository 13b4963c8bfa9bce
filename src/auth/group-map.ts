import { CapsuleError } from '../errors.js';
import { checkId } from '../users/index.js';

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

/**
 * The Capsule groups of a sign-in, sorted: the provider groups the map names, mapped, plus the
 * default groups. Only mapped groups: an unmapped provider group named 'administrators' must not
 * make anyone an administrator here. A mapped name that is no valid group id goes to `ignored`.
 */
export function mapProviderGroups(map: ReadonlyMap<string, string>, defaults: readonly string[], given: readonly string[], ignored: (group: string) => void): string[] {
  const groups = new Set<string>();
  for (const providerGroup of given) {
    const target = map.get(providerGroup);
    if (target === undefined) continue;
    try {
      groups.add(checkId('group', target));
    } catch {
      ignored(target);
    }
  }
  for (const group of defaults) groups.add(group);
  return [...groups].sort();
}
