import type { RepositoryReader } from '../repository/index.js';
import { accessRuleOf, contentAncestors } from '../content/index.js';
import { itemSchema, packageSchema, storedItemSchema, type ReplicationItem, type ReplicationPackage } from './package.js';

/** What an author stored, in the current format; or why it cannot be sent. */
export type Upgraded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

function firstIssue(error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): string {
  const issue = error.issues[0]!;
  return `${issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : ''}${issue.message}`;
}

/**
 * An outbox item or in-flight item as the receiver must get it. Items written before activations
 * carried their ancestors' access rules get those rules as they are now, at sending time, and
 * their nodes parents first. Sending the current rules is right: every rule change made since
 * the item was queued is queued after it, and a publish ends with the last rule either way.
 * An ancestor gone from the author makes the item unsendable (its rule is unknown): the caller
 * sends a snapshot instead, which carries only what is still there.
 */
export async function upgradeStoredItem(reader: RepositoryReader, stored: unknown): Promise<Upgraded<ReplicationItem>> {
  const parsed = storedItemSchema.safeParse(stored);
  if (!parsed.success) return { ok: false, problem: firstIssue(parsed.error) };
  let item: ReplicationItem = parsed.data;
  if (item.type === 'content' && item.nodes && item.ancestors === undefined) {
    const ancestors = [];
    for (const at of contentAncestors(item.path)) {
      const ancestor = await reader.getNode(at);
      if (!ancestor) return { ok: false, problem: `the activation of ${item.path} was queued by an older version and its ancestor ${at} is gone` };
      ancestors.push({ path: at, allowedGroups: accessRuleOf(ancestor) });
    }
    // A path sorts after every path it extends: parents come first.
    const nodes = [...item.nodes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    item = { ...item, nodes, ancestors };
  }
  const checked = itemSchema.safeParse(item);
  return checked.success ? { ok: true, value: checked.data } : { ok: false, problem: firstIssue(checked.error) };
}

/** An outbox item's stored text, parsed and brought to the current format. */
export async function readStoredItem(reader: RepositoryReader, text: unknown): Promise<Upgraded<ReplicationItem>> {
  let stored: unknown;
  try {
    stored = JSON.parse(String(text));
  } catch {
    return { ok: false, problem: 'not JSON' };
  }
  return upgradeStoredItem(reader, stored);
}

/** A package written down before it was sent (perhaps by an older version), in the current format. */
export async function upgradeStoredPackage(reader: RepositoryReader, pkg: ReplicationPackage): Promise<Upgraded<ReplicationPackage>> {
  if (packageSchema.safeParse(pkg).success) return { ok: true, value: pkg };
  const items: ReplicationItem[] = [];
  for (const [index, stored] of pkg.items.entries()) {
    const upgraded = await upgradeStoredItem(reader, stored);
    if (!upgraded.ok) return { ok: false, problem: `items.${index}: ${upgraded.problem}` };
    items.push(upgraded.value);
  }
  const checked = packageSchema.safeParse({ ...pkg, items });
  return checked.success ? { ok: true, value: checked.data } : { ok: false, problem: firstIssue(checked.error) };
}
