import { z } from 'zod';
import { CapsuleError } from '../errors.js';
import { contentAncestors } from '../content/index.js';
import { ADMINISTRATORS, type ReplicatedUserState } from '../users/index.js';

/** The group whose members (and administrators) may post packages to `POST /bin/receive`. */
export const REPLICATION_RECEIVERS = 'replication-receivers';
/** Each instance keeps its own: never sent, and refused when a package names them. */
export const LOCAL_USERS: readonly string[] = ['admin'];
export const LOCAL_GROUPS: readonly string[] = [ADMINISTRATORS, REPLICATION_RECEIVERS];

/** The receiver refuses bodies above this (413); an agent packs well below it. */
export const MAX_PACKAGE_BYTES = 4 * 1024 * 1024;
/** An agent closes a package at this many items or about this many bytes. */
export const PACKAGE_ITEMS = 500;
export const PACKAGE_TARGET_BYTES = 1024 * 1024;

const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._@+-]*$/, 'a user or group id');
const replicatedUser = id.refine((value) => !LOCAL_USERS.includes(value), { message: 'this user is kept per instance and never replicated' });
const replicatedGroup = id.refine((value) => !LOCAL_GROUPS.includes(value), { message: 'this group is kept per instance and never replicated' });

const storedProperty = z.discriminatedUnion('t', [
  z.object({ t: z.literal('string'), v: z.string() }),
  z.object({ t: z.literal('long'), v: z.number().int().refine(Number.isSafeInteger) }),
  z.object({ t: z.literal('boolean'), v: z.boolean() }),
  z.object({ t: z.literal('date'), v: z.string().datetime() }),
  z.object({ t: z.literal('binary'), v: z.string().base64() }),
  z.object({ t: z.literal('string[]'), v: z.array(z.string()) }),
]);

const contentPath = z
  .string()
  .max(1024)
  .regex(/^\/content(\/[^/\u0000-\u001f\u007f]+)*$/, 'a path under /content')
  .refine((path) => !path.split('/').some((segment) => segment === '.' || segment === '..'), { message: "no '.' or '..' segments" });

/**
 * Why `path` is no content path, null when it is one. The receiver asks again: a library caller
 * may hand it items that were never parsed.
 */
export function contentPathProblem(path: unknown): string | null {
  const parsed = contentPath.safeParse(path);
  return parsed.success ? null : `${typeof path === 'string' ? path.slice(0, 200) : String(path)} is not ${parsed.error.issues[0]!.message}`;
}

/**
 * Content node types: Capsule's own content and folder types, or a type of the site's own (no
 * `capsule:` prefix). Never a user, group, token or configuration type: a node of such a type
 * under /content would be found by the lookups that trust those types.
 */
const contentType = z
  .string()
  .min(1)
  .max(256)
  .refine((type) => ['capsule:Content', 'capsule:Folder', 'capsule:Node'].includes(type) || !type.startsWith('capsule:'), {
    message: 'content nodes are capsule:Content, capsule:Folder, capsule:Node or a type without the capsule: prefix',
  });

export const userStateSchema = z
  .object({
    passwordHash: z.string().max(1024).optional(),
    disabled: z.boolean(),
    generation: z.number().int().min(0),
    groups: z.array(replicatedGroup).max(10_000).readonly(),
    external: z.object({ provider: z.string().max(2048), subject: z.string().max(2048), groups: z.array(id).max(10_000).readonly() }).optional(),
  })
  // The users module says what a replicated user is; this is how it travels.
  .strict();

// Checked to match: the same properties (an optional one too), of types that fit both ways.
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? SameKeys<A, B> : false) : false;
const userStateMatches: Same<z.infer<typeof userStateSchema>, ReplicatedUserState> = true;
void userStateMatches;

/** The groups an `allowedGroups` admits, or null for a node that sets no rule. */
const accessRule = z.array(z.string().max(256)).max(10_000).readonly().nullable();

const contentNodeState = z.object({ path: contentPath, type: contentType, properties: z.record(z.string().max(256), storedProperty) }).strict();

const contentItem = z
  .object({
    type: z.literal('content'),
    path: contentPath,
    deep: z.boolean(),
    /** Activated content: the node (with `deep`, its subtree) as it was; null: deactivated. */
    nodes: z.array(contentNodeState).max(100_000).nullable(),
    /**
     * With an activation, the access rule of every node above `path` (from /content down to its
     * parent) as it was: a publish gives the ancestors it has, or creates, exactly these rules.
     */
    ancestors: z
      .array(z.object({ path: contentPath, allowedGroups: accessRule }).strict())
      .max(512)
      .optional(),
  })
  .strict();

/**
 * What makes an activation safe to apply, beyond its fields' shapes: its nodes are the activated
 * node and nodes below it, each after its parent (so a publish never makes a node whose rule it
 * was not sent), and it carries the rule of every ancestor. Null when it holds.
 */
export function contentItemProblem(item: z.infer<typeof contentItem>): string | null {
  const pathProblem = contentPathProblem(item.path);
  if (pathProblem) return `path: ${pathProblem}`;
  if (!item.nodes) return item.ancestors === undefined ? null : `ancestors: a deactivation of ${item.path} carries none`;
  const present = new Set<string>();
  for (const node of item.nodes) {
    const nodeProblem = contentPathProblem(node.path);
    if (nodeProblem) return `nodes: ${nodeProblem}`;
    if (node.path !== item.path && !node.path.startsWith(`${item.path}/`)) return `nodes: content node ${node.path} is outside the activated ${item.path}`;
    if (present.has(node.path)) return `nodes: content node ${node.path} comes twice`;
    if (node.path !== item.path && !present.has(node.path.slice(0, node.path.lastIndexOf('/')))) return `nodes: content node ${node.path} comes without its parent before it`;
    present.add(node.path);
  }
  if (!present.has(item.path)) return `nodes: the activated ${item.path} is not among them`;
  const expected = contentAncestors(item.path);
  // Sent by an author from before activations carried their ancestors' rules.
  if (item.ancestors === undefined) return `ancestors: the access rules of ${expected.length > 0 ? expected.join(', ') : 'no node'} must come with ${item.path}; an activation without them was sent by an older author: upgrade the author too`;
  const sent = item.ancestors?.map((ancestor) => ancestor.path) ?? [];
  if (sent.length !== expected.length || sent.some((path, index) => path !== expected[index])) {
    return `ancestors: the access rules of ${expected.length > 0 ? expected.join(', ') : 'no node'} (in that order) must come with ${item.path}`;
  }
  return null;
}

/** The latest time a JavaScript Date can hold: no end of a session lies beyond it. */
const MAX_TIME_MS = 8_640_000_000_000_000;

/**
 * A session ended on the author: a publish holds its id as ended until `expiresAtMs`, so a token
 * naming it (the same token works on both) is refused there too. Only the id travels, never whose.
 */
const sessionEndedItem = z
  .object({
    type: z.literal('session-ended'),
    id: z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'a session id (22 base64url characters)'),
    expiresAtMs: z.number().int().min(0).max(MAX_TIME_MS),
  })
  .strict();

/**
 * Every item's shape, without the checks that make an activation safe to apply: what an author
 * reads back from its own outbox and in-flight packages, which may have been written by an older
 * version (upgrade.ts brings them to the current format before they are sent).
 */
export const storedItemSchema = z.discriminatedUnion('type', [
  /** The user's whole state as of the change, or null when it was removed. */
  z.object({ type: z.literal('user'), id: replicatedUser, state: userStateSchema.nullable() }).strict(),
  z.object({ type: z.literal('group'), id: replicatedGroup, exists: z.boolean() }).strict(),
  contentItem,
  /** A content node's access rule as it became on the author, whether or not the node was activated. */
  z.object({ type: z.literal('access'), path: contentPath, allowedGroups: accessRule }).strict(),
  sessionEndedItem,
]);

export const itemSchema = storedItemSchema.superRefine((item, context) => {
  const problem = item.type === 'content' ? contentItemProblem(item) : null;
  if (problem) context.addIssue({ code: z.ZodIssueCode.custom, message: problem });
});

export const packageSchema = z
  .object({
    format: z.literal(1),
    /** The sending stream (one per agent): sequence numbers count per source. */
    source: z.string().min(1).max(200).regex(/^[A-Za-z0-9._~-]+$/),
    /** 1, 2, 3, … with no gap: the receiver applies package n only after n-1. */
    sequence: z.number().int().min(1),
    items: z.array(itemSchema).max(PACKAGE_ITEMS * 4),
  })
  .strict();

/** A package as an author wrote it down before sending it (possibly an older version's). */
export const storedPackageSchema = packageSchema.extend({ items: z.array(storedItemSchema).max(PACKAGE_ITEMS * 4) });

export type ReplicationItem = z.infer<typeof itemSchema>;
export type ContentItem = Extract<ReplicationItem, { type: 'content' }>;
export type ContentNodeState = NonNullable<ContentItem['nodes']>[number];
export type SessionEndedItem = Extract<ReplicationItem, { type: 'session-ended' }>;
export type ReplicationPackage = z.infer<typeof packageSchema>;

/** Validates a received body; the message names the first thing wrong (where and why). */
export function parsePackage(body: unknown): ReplicationPackage {
  const parsed = packageSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join('.') : 'the package';
    throw new CapsuleError('REPLICATION_PACKAGE_INVALID', `malformed replication package: ${where}: ${issue.message}`);
  }
  return parsed.data;
}

/** A short description of an item for status, health and logs (no password hash, no content values). */
export function describeItem(item: ReplicationItem): string {
  switch (item.type) {
    case 'user':
      return item.state ? `user ${item.id}` : `removal of user ${item.id}`;
    case 'group':
      return item.exists ? `group ${item.id}` : `removal of group ${item.id}`;
    case 'content':
      return item.nodes ? `activation of ${item.path}${item.deep ? ' (deep)' : ''}` : `deactivation of ${item.path}`;
    case 'access':
      return `access rule of ${item.path}`;
    case 'session-ended':
      return `end of session ${item.id}`;
  }
}
