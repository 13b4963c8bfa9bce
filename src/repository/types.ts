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

export interface AddNodeOptions {
  readonly type?: string;
  readonly properties?: Properties;
}

/** Property names whose values are indexed for `findByProperty` (each element of a string[]). */
export const INDEXED_PROPERTIES: readonly string[] = ['userId', 'groupId', 'members'];

export interface RepositoryReader {
  getNode(path: string): Promise<RepositoryNode | null>;
  getNodeById(id: string): Promise<RepositoryNode | null>;
  getChildren(path: string): Promise<RepositoryNode[]>;
  /** The node and everything below it, parents before children. */
  getSubtree(path: string): Promise<RepositoryNode[]>;
  /** Nodes of `type` whose indexed property `name` has (or, for string[], contains) `value`. */
  findByProperty(name: string, value: string, type?: string): Promise<RepositoryNode[]>;
  /** Up to `limit` nodes of `type`, in id order after `afterId` (for batch jobs). */
  findByType(type: string, limit: number, afterId?: string): Promise<RepositoryNode[]>;
  countByType(type: string): Promise<number>;
  /** Nodes with a string property that contains `fragment` (used to find protected values). */
  findByText(fragment: string): Promise<RepositoryNode[]>;
  /** A change counter; other processes sharing the store see increments (see `bumpCounter`). */
  readCounter(name: string): Promise<number>;
}

export interface RepositoryWriter extends RepositoryReader {
  /** Adds a node; missing parents are created as `capsule:Folder`. */
  addNode(path: string, options?: AddNodeOptions): Promise<RepositoryNode>;
  /** Sets properties; a `null` removes the property. */
  setProperties(path: string, changes: Readonly<Record<string, PropertyValue | null>>): Promise<RepositoryNode>;
  /** Removes the node and everything below it; false when there was nothing to remove. */
  removeNode(path: string): Promise<boolean>;
  bumpCounter(name: string): Promise<number>;
}

export interface RepositoryInfo {
  readonly backend: string;
  readonly location: string;
  readonly sizeBytes: number;
  readonly schemaVersion: number;
  readonly nodeCount: number;
}

export interface Repository extends RepositoryWriter {
  /** Runs `work` in one transaction: all of its writes, or none if it throws. */
  transaction<T>(work: (tx: RepositoryWriter) => Promise<T>): Promise<T>;
  info(): Promise<RepositoryInfo>;
  close(): Promise<void>;
}
