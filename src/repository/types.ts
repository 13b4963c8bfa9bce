/**
 * The node store: a tree of nodes addressed by absolute paths, each with a stable random id,
 * a type and typed properties. The API is async so that a networked backend fits behind it.
 */

/** string, long (safe integer), boolean, date, binary and string[] — inferred from the JS value. */
export type PropertyValue = string | number | boolean | Date | Uint8Array | readonly string[];

export type PropertyType = 'string' | 'long' | 'boolean' | 'date' | 'binary' | 'string[]';

export type Properties = Readonly<Record<string, PropertyValue>>;

export interface RepositoryNode {
  readonly id: string;
  readonly path: string;
  readonly name: string;
  readonly type: string;
  readonly properties: Properties;
  readonly created: Date;
  readonly modified: Date;
}

/** What `getPropertiesById` returns: the node's type and those of the asked properties it has. */
export interface NodeProperties {
  readonly type: string;
  readonly properties: Readonly<Partial<Record<string, PropertyValue>>>;
}

export interface AddNodeOptions {
  readonly type?: string;
  readonly properties?: Properties;
}

/**
 * Property names whose values are indexed for `findByProperty` (each element of a string[]).
 * `member`: a group membership's user (users/memberships.ts); `members`: the member lists of
 * groups written before memberships were nodes, until the users module moves them.
 * `providerUser`, `providerSubject`: external users (users/provider-users.ts).
 */
export const INDEXED_PROPERTIES: readonly string[] = ['userId', 'groupId', 'members', 'member', 'providerUser', 'providerSubject'];

/** What `findByPropertyRange` and `getChildrenRange` return: one page of a range, in ascending order. */
export interface RangeQuery {
  /** Only values (names) that begin with this: a plain string, never a pattern. */
  readonly prefix?: string;
  /** Only values (names) greater than this: where the previous page ended. */
  readonly after?: string;
  readonly limit: number;
  /** Only nodes of this type (counted against `limit` after the filter). */
  readonly type?: string;
}

/**
 * Subtrees whose every change bumps a counter (`treeCounter(root)`) in the same transaction, so
 * that a cache of what is in them (content and its access decisions) can tell when it went stale,
 * whoever wrote: the content service, replication, a CLI command in another process. Copying
 * (`putNode`, `setCounter`) takes a repository over as it is and bumps nothing.
 */
export const COUNTED_TREES: readonly string[] = ['/content'];

/** The counter that a change anywhere in the counted tree `root` bumps. */
export function treeCounter(root: string): string {
  return `tree:${root}`;
}

/** The counted trees a write at `path` changes: those it lies in, and those it holds (a removal of an ancestor). */
export function treesChangedAt(path: string): readonly string[] {
  return COUNTED_TREES.filter((root) => path === root || path.startsWith(`${root}/`) || root.startsWith(path === '/' ? '/' : `${path}/`));
}

export interface RepositoryReader {
  getNode(path: string): Promise<RepositoryNode | null>;
  getNodeById(id: string): Promise<RepositoryNode | null>;
  /**
   * The type of the node with this id and the named properties it has, nothing else decoded
   * (no path, times or other properties): one indexed read for a hot path such as a stateful
   * token check, which reads a few properties of one node by id on every request.
   */
  getPropertiesById(id: string, names: readonly string[]): Promise<NodeProperties | null>;
  getChildren(path: string): Promise<RepositoryNode[]>;
  /** The node and everything below it, parents before children. */
  getSubtree(path: string): Promise<RepositoryNode[]>;
  /** Nodes of `type` whose indexed property `name` has (or, for string[], contains) `value`. */
  findByProperty(name: string, value: string, type?: string): Promise<RepositoryNode[]>;
  /**
   * Up to `limit` nodes whose indexed property `name` has a value in the range, in ascending order
   * of that value (byte order of its UTF-8, which is JavaScript's string order for every string
   * without characters past U+FFFF), a node with two values once per value. One range scan of the
   * index: the cost is that of the page, whatever the number of nodes.
   */
  findByPropertyRange(name: string, query: RangeQuery): Promise<RepositoryNode[]>;
  /** Up to `limit` children of `path` whose names are in the range, in the same order as `findByPropertyRange`. */
  getChildrenRange(path: string, query: RangeQuery): Promise<RepositoryNode[]>;
  /** How many children `path` has (of `type`, when given), without reading them. */
  countChildren(path: string, type?: string): Promise<number>;
  /**
   * Up to `limit` nodes of the whole repository whose paths come after `afterPath` ('' for the
   * first page), in path order (byte order of the UTF-8, so parents before children): one range
   * scan of the path index, for walking a repository of any size in pages (copying, comparing).
   */
  getNodesAfter(afterPath: string, limit: number): Promise<RepositoryNode[]>;
  /** Up to `limit` nodes of `type`, in id order after `afterId` (for batch jobs). */
  findByType(type: string, limit: number, afterId?: string): Promise<RepositoryNode[]>;
  countByType(type: string): Promise<number>;
  /** Nodes with a string property that contains `fragment` (used to find protected values). */
  findByText(fragment: string): Promise<RepositoryNode[]>;
  /** A change counter; other processes sharing the store see increments (see `bumpCounter`). */
  readCounter(name: string): Promise<number>;
}

/** A node exactly as stored, for copying a repository (ids and times kept). */
export interface StoredNode {
  readonly id: string;
  readonly path: string;
  readonly type: string;
  readonly properties: Properties;
  readonly created: Date;
  readonly modified: Date;
}

export interface RepositoryWriter extends RepositoryReader {
  /** Adds a node; missing parents are created as `capsule:Folder`. */
  addNode(path: string, options?: AddNodeOptions): Promise<RepositoryNode>;
  /** Sets properties; a `null` removes the property. */
  setProperties(path: string, changes: Readonly<Record<string, PropertyValue | null>>): Promise<RepositoryNode>;
  /** Removes the node and everything below it; false when there was nothing to remove. */
  removeNode(path: string): Promise<boolean>;
  /**
   * Raises the counter by one. Other instances on the same repository hear of it: PostgreSQL
   * notifies them when the transaction commits; on SQLite they find out by polling.
   */
  bumpCounter(name: string): Promise<number>;
  /** Every counter and its value (for copying a repository). */
  readCounters(): Promise<Record<string, number>>;
  /** Writes a node as given (id, type, properties, times), replacing the one at its path; for copying. */
  putNode(node: StoredNode): Promise<void>;
  /**
   * `putNode` for each node in turn (of two at one path the last stays), in a few statements per
   * thousand nodes instead of several per node: for copying a repository of many nodes.
   */
  putNodes(nodes: readonly StoredNode[]): Promise<void>;
  /** Sets a counter to a value (for copying). */
  setCounter(name: string, value: number): Promise<void>;
}

export type RepositoryBackend = 'sqlite' | 'postgres';

export interface RepositoryInfo {
  readonly backend: RepositoryBackend;
  /** The file, or the PostgreSQL URL without its password. */
  readonly location: string;
  readonly sizeBytes: number;
  readonly schemaVersion: number;
  /** Null when `info` was asked not to count. */
  readonly nodeCount: number | null;
  /** What the operator should know, e.g. PostgreSQL running with synchronous_commit off (logged at start). */
  readonly warnings?: readonly string[];
}

export interface TransactionOptions {
  /**
   * The commit is on disk before the promise resolves, whatever the server's default (PostgreSQL:
   * `SET LOCAL synchronous_commit = on`; SQLite: `synchronous = FULL` for it). For writes whose
   * loss a crash must not cause, such as keys whose files are deleted once they are stored.
   */
  readonly durable?: boolean;
}

/**
 * The transaction contract, the same for every backend:
 *
 * - Isolation is SERIALIZABLE: a transaction behaves as if it ran alone, so a read-then-write
 *   inside `work` (is the id free? then add) is correct with any number of processes writing.
 *   Reads outside a transaction see only committed data.
 * - `work` MAY RUN MORE THAN ONCE. On PostgreSQL a serialization failure (40001), a deadlock
 *   (40P01) or a unique-key race (23505) rolls the attempt back and runs `work` again, up to
 *   `MAX_TRANSACTION_ATTEMPTS` times; then it fails with REPOSITORY_UNAVAILABLE. A unique key
 *   still violated on the third attempt is a genuine duplicate, not a race: NODE_EXISTS. So `work`
 *   must only read and write through `tx`, and keep every other effect (hashing a password,
 *   notifying listeners, writing files, making random secrets it must return) outside it, or
 *   make it safe to repeat. On SQLite, `BEGIN IMMEDIATE` takes the one write lock first, so
 *   no attempt is ever rolled back for a conflict and `work` runs exactly once; the contract
 *   still allows a retry, and code must not count on there being none.
 * - All writes of `work` commit together, or none do if it throws.
 * - A repository that cannot serve the call now fails it with REPOSITORY_UNAVAILABLE: PostgreSQL
 *   down, restarting, read-only (a standby), out of connections, a lock or statement timeout, a
 *   cancelled statement, a server that stops answering for `query_timeout`. A later call
 *   reconnects by itself.
 */
export const MAX_TRANSACTION_ATTEMPTS = 20;

export interface Repository extends RepositoryWriter {
  readonly backend: RepositoryBackend;
  /** True when opening it created its schema: the backend, not a file, says a repository is new. */
  readonly created: boolean;
  /** Runs `work` in one transaction under the contract above. */
  transaction<T>(work: (tx: RepositoryWriter) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Tells `listener` the name of every counter bumped by another process, within about a
   * second (PostgreSQL: LISTEN/NOTIFY). SQLite has no such channel and never calls it: poll
   * `readCounter` there. Returns a function that stops listening.
   */
  onCounterBumped(listener: (name: string) => void): () => void;
  /**
   * Tells `listener` the names of the counters a transaction of this process bumped (tree
   * counters included), synchronously once it has committed and before its promise resolves: an
   * in-process cache that listens is never staler than the repository. Not called for a
   * transaction that rolled back, nor for other processes' bumps (`onCounterBumped`, polling).
   * A listener that throws does not fail the transaction (it committed): its error is reported as
   * a process warning.
   */
  onCommit(listener: (bumped: ReadonlySet<string>) => void): () => void;
  /**
   * Runs `job` unless another process runs the job of that name now (PostgreSQL: a session
   * advisory lock; SQLite: one process per home, so a lock in this process). Resolves to
   * whether it ran.
   *
   * The lock is not held to the end for certain: on PostgreSQL it lives on one connection, and if
   * that connection is lost while `work` runs (restart, pg_terminate_backend, network), another
   * process may start the same job while this one still runs, and this call still resolves true.
   * So a job must be safe to run twice at once (idempotent, e.g. deleting what has expired).
   */
  runExclusive(job: string, work: () => Promise<void>): Promise<boolean>;
  /**
   * Where and what the repository is. `countNodes: false` skips counting the nodes (`nodeCount`
   * null): a count reads a whole index, and on SQLite it pulls the mapped file into memory, so
   * what runs often (the health check, start) does not count.
   */
  info(options?: { readonly countNodes?: boolean }): Promise<RepositoryInfo>;
  close(): Promise<void>;
}
