import type { RepositoryNode, RepositoryWriter } from '../repository/index.js';
import { ADMINISTRATORS } from '../users/index.js';

export const CONTENT_ROOT = '/content';
export const ALLOWED_GROUPS = 'allowedGroups';

/** Who asks: null for an anonymous request. */
export interface Reader {
  readonly userId: string;
  readonly groups: readonly string[];
}

/** A node's own access rule: the groups that may read it (and what is below it), or null when it sets none. */
export type AccessRule = readonly string[] | null;

/**
 * The node's rule. Fails closed: a value that is not a string or a list of strings (written
 * before writes were checked, or by another tool) admits administrators only.
 */
export function accessRuleOf(node: RepositoryNode): AccessRule {
  const value = node.properties[ALLOWED_GROUPS];
  if (value === undefined) return null;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as readonly string[];
  return [];
}

export function sameAccessRule(a: AccessRule, b: AccessRule): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((group, index) => group === b[index]);
}

export function mayRead(node: RepositoryNode, reader: Reader | null): boolean {
  const allowed = accessRuleOf(node);
  if (!allowed) return true;
  if (!reader) return false;
  return reader.groups.includes(ADMINISTRATORS) || allowed.some((group) => reader.groups.includes(group));
}

/** The content paths above `path`, from /content down to its parent (none for /content itself). */
export function contentAncestors(path: string): string[] {
  const ancestors: string[] = [];
  for (let at = path; at !== CONTENT_ROOT && at.includes('/', 1); ) {
    at = at.slice(0, at.lastIndexOf('/'));
    ancestors.unshift(at);
  }
  return ancestors;
}

/**
 * Told of every change of a node's access rule, inside the transaction that makes it (the
 * replication outbox: it sends the rule to publishes when the node may be there).
 */
export interface AccessRuleOutbox {
  accessRuleChanged(tx: RepositoryWriter, path: string): Promise<void>;
}
