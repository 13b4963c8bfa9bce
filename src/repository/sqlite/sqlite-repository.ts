import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { SqliteDatabase as Database, type SqliteConnection } from './driver.js';
import { CapsuleError } from '../../errors.js';
import type { Clock } from '../../clock.js';
import { newNodeId } from '../node-id.js';
import { checkPath, nameOf, parentOf } from '../paths.js';
import { decodeProperty, decodeSomeProperties, encodeProperty, type StoredProperty } from '../properties.js';
import {
  INDEXED_PROPERTIES,
  type AddNodeOptions,
  type Properties,
  type PropertyValue,
  type RangeQuery,
  type Repository,
  type RepositoryInfo,
  type RepositoryNode,
  type RepositoryWriter,
  type StoredNode,
  type TransactionOptions,
  treeCounter,
  treesChangedAt,
} from '../types.js';
import { CAPSULE_APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import { createMutex } from './mutex.js';
import { rangeBounds } from '../range.js';
import { tellCommitListeners } from '../commit-listeners.js';

export interface SqliteRepositoryOptions {
  /** The database file; created (with its schema) only when `create` is true. */
  readonly file: string;
  readonly create?: boolean;
  /** How long a write waits for another process's transaction, in ms. */
  readonly busyTimeoutMs?: number;
  readonly clock: Clock;
}

interface NodeRow {
  id: string;
  path: string;
  name: string;
  type: string;
  props: string;
  created: number;
  modified: number;
}

const FOLDER_TYPE = 'capsule:Folder';

export function openSqliteRepository(options: SqliteRepositoryOptions): Repository {
  const { file, create = false, busyTimeoutMs = 10_000, clock } = options;
  const { db, created } = openDatabase(file, create, busyTimeoutMs, clock);
  const mutex = createMutex();
  const runningJobs = new Set<string>();
  // What the open transaction changed: its counted trees get their counter bumped before COMMIT,
  // and every counter it bumped is told to `onCommit` listeners after. One transaction at a time.
  const changedTrees = new Set<string>();
  const bumped = new Set<string>();
  const commitListeners = new Set<(bumped: ReadonlySet<string>) => void>();
  const changed = (path: string) => {
    for (const root of treesChangedAt(path)) changedTrees.add(root);
  };

  const statements = {
    byPath: db.prepare<[string], NodeRow>('SELECT * FROM nodes WHERE path = ?'),
    byId: db.prepare<[string], NodeRow>('SELECT * FROM nodes WHERE id = ?'),
    // Two columns, not eight: each column read becomes a JS value, and this runs on every stateful request.
    propertiesById: db.prepare<[string], { type: string; props: string }>('SELECT type, props FROM nodes WHERE id = ?'),
    children: db.prepare<[string], NodeRow>('SELECT * FROM nodes WHERE parent = ? ORDER BY name'),
    subtree: db.prepare<[string, string, string], NodeRow>(
      'SELECT * FROM nodes WHERE path = ? OR (path >= ? AND path < ?) ORDER BY path',
    ),
    all: db.prepare<[], NodeRow>('SELECT * FROM nodes ORDER BY path'),
    after: db.prepare<[string, number], NodeRow>('SELECT * FROM nodes WHERE path > ? ORDER BY path LIMIT ?'),
    byProperty: db.prepare<[string, string], NodeRow>(
      'SELECT n.* FROM property_index i JOIN nodes n ON n.id = i.node_id WHERE i.name = ? AND i.value = ? ORDER BY n.path',
    ),
    // `+n.type` keeps the type out of the index choice: without it SQLite walked every node of the
    // type (nodes_type) and probed the property index for each, so finding one user among 10,000
    // read 10,000 index entries, and applying a replication package took time in its square.
    byPropertyAndType: db.prepare<[string, string, string], NodeRow>(
      'SELECT n.* FROM property_index i JOIN nodes n ON n.id = i.node_id WHERE i.name = ? AND i.value = ? AND +n.type = ? ORDER BY n.path',
    ),
    byType: db.prepare<[string, string, number], NodeRow>(
      'SELECT * FROM nodes WHERE type = ? AND id > ? ORDER BY id LIMIT ?',
    ),
    countChildren: db.prepare<[string], { count: number }>('SELECT count(*) AS count FROM nodes WHERE parent = ?'),
    countChildrenOfType: db.prepare<[string, string], { count: number }>('SELECT count(*) AS count FROM nodes WHERE parent = ? AND type = ?'),
    countByType: db.prepare<[string], { count: number }>('SELECT count(*) AS count FROM nodes WHERE type = ?'),
    byText: db.prepare<[string], NodeRow>('SELECT * FROM nodes WHERE instr(props, ?) > 0 ORDER BY path'),
    insert: db.prepare(
      'INSERT INTO nodes (id, path, parent, name, type, props, created, modified) VALUES (@id, @path, @parent, @name, @type, @props, @created, @modified)',
    ),
    updateProps: db.prepare<[string, number, string]>('UPDATE nodes SET props = ?, modified = ? WHERE id = ?'),
    deletePath: db.prepare<[string]>('DELETE FROM nodes WHERE path = ?'),
    deleteSubtree: db.prepare<[string, string]>('DELETE FROM nodes WHERE path >= ? AND path < ?'),
    indexInsert: db.prepare<[string, string, string]>(
      'INSERT OR IGNORE INTO property_index (name, value, node_id) VALUES (?, ?, ?)',
    ),
    indexDelete: db.prepare<[string, string]>('DELETE FROM property_index WHERE node_id = ? AND name = ?'),
    counter: db.prepare<[string], { value: number }>('SELECT value FROM counters WHERE name = ?'),
    bump: db.prepare<[string], { value: number }>(
      'INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value',
    ),
    nodeCount: db.prepare<[], { count: number }>('SELECT count(*) AS count FROM nodes'),
    counters: db.prepare<[], { name: string; value: number }>('SELECT name, value FROM counters ORDER BY name'),
    setCounter: db.prepare<[string, number]>(
      'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value',
    ),
  };

  // One statement per shape of range (bounds and type given or not), prepared when first used.
  const rangeStatements = new Map<string, ReturnType<typeof db.prepare<unknown[], NodeRow>>>();
  function rangeRows(kind: 'property' | 'children', key: string, query: RangeQuery): NodeRow[] {
    const { lower, lowerExclusive, upper } = rangeBounds(query);
    const column = kind === 'property' ? 'i.value' : 'name';
    const shape = `${kind}:${lowerExclusive}:${upper !== null}:${query.type !== undefined}`;
    let statement = rangeStatements.get(shape);
    if (!statement) {
      const bounds = `${column} ${lowerExclusive ? '>' : '>='} ?${upper !== null ? ` AND ${column} < ?` : ''}`;
      statement = db.prepare<unknown[], NodeRow>(
        kind === 'property'
          ? // The primary key (name, value, node_id) serves the range and its order: no sort, no full read.
            `SELECT n.* FROM property_index i JOIN nodes n ON n.id = i.node_id WHERE i.name = ? AND ${bounds}${query.type !== undefined ? ' AND +n.type = ?' : ''} ORDER BY i.value, i.node_id LIMIT ?`
          : `SELECT * FROM nodes WHERE parent = ? AND ${bounds}${query.type !== undefined ? ' AND +type = ?' : ''} ORDER BY name LIMIT ?`,
      );
      rangeStatements.set(shape, statement);
    }
    const params: unknown[] = [key, lower];
    if (upper !== null) params.push(upper);
    if (query.type !== undefined) params.push(query.type);
    params.push(query.limit);
    return statement.all(...params);
  }

  function toNode(row: NodeRow): RepositoryNode {
    const stored = JSON.parse(row.props) as Record<string, StoredProperty>;
    const properties: Record<string, PropertyValue> = {};
    for (const [name, value] of Object.entries(stored)) properties[name] = decodeProperty(value);
    return {
      id: row.id,
      path: row.path,
      name: row.name,
      type: row.type,
      properties,
      created: new Date(row.created),
      modified: new Date(row.modified),
    };
  }

  function rowAt(path: string): NodeRow | undefined {
    return statements.byPath.get(checkPath(path));
  }

  function encodeAll(properties: Properties): Record<string, StoredProperty> {
    const stored: Record<string, StoredProperty> = {};
    for (const [name, value] of Object.entries(properties)) stored[name] = encodeProperty(name, value);
    return stored;
  }

  function reindex(nodeId: string, name: string, value: PropertyValue | undefined): void {
    if (!INDEXED_PROPERTIES.includes(name)) return;
    statements.indexDelete.run(nodeId, name);
    const values = typeof value === 'string' ? [value] : Array.isArray(value) ? (value as string[]) : [];
    for (const item of values) statements.indexInsert.run(name, item, nodeId);
  }

  /** Writes a node as given, replacing the one at its path (copying). */
  function putStoredNode(node: StoredNode): void {
    const path = checkPath(node.path);
    statements.deletePath.run(path);
    const row = {
      id: node.id,
      path,
      parent: parentOf(path),
      name: nameOf(path),
      type: node.type,
      props: JSON.stringify(encodeAll(node.properties)),
      created: node.created.getTime(),
      modified: node.modified.getTime(),
    };
    statements.insert.run(row);
    for (const [name, value] of Object.entries(node.properties)) reindex(row.id, name, value);
  }

  function insertNode(path: string, type: string, properties: Properties): RepositoryNode {
    const now = clock.now();
    const row: NodeRow & { parent: string | null } = {
      id: newNodeId(),
      path,
      parent: parentOf(path),
      name: nameOf(path),
      type,
      props: JSON.stringify(encodeAll(properties)),
      created: now,
      modified: now,
    };
    statements.insert.run(row);
    for (const [name, value] of Object.entries(properties)) reindex(row.id, name, value);
    return toNode(row);
  }

  // The writer used inside a transaction: it runs straight on the connection, which the
  // transaction holds.
  const writer: RepositoryWriter = {
    getNode: async (path) => {
      const row = rowAt(path);
      return row ? toNode(row) : null;
    },
    getNodeById: async (id) => {
      const row = statements.byId.get(id);
      return row ? toNode(row) : null;
    },
    getPropertiesById: async (id, names) => {
      const row = statements.propertiesById.get(id);
      return row ? { type: row.type, properties: decodeSomeProperties(row.props, names) } : null;
    },
    getChildren: async (path) => statements.children.all(checkPath(path)).map(toNode),
    getSubtree: async (path) => {
      const root = checkPath(path);
      const rows = root === '/' ? statements.all.all() : statements.subtree.all(root, `${root}/`, `${root}0`);
      return rows.map(toNode);
    },
    findByProperty: async (name, value, type) =>
      (type === undefined
        ? statements.byProperty.all(name, value)
        : statements.byPropertyAndType.all(name, value, type)
      ).map(toNode),
    findByPropertyRange: async (name, query) => rangeRows('property', name, query).map(toNode),
    getChildrenRange: async (path, query) => rangeRows('children', checkPath(path), query).map(toNode),
    countChildren: async (path, type) =>
      (type === undefined ? statements.countChildren.get(checkPath(path)) : statements.countChildrenOfType.get(checkPath(path), type))?.count ?? 0,
    getNodesAfter: async (afterPath, limit) => statements.after.all(afterPath, limit).map(toNode),
    findByType: async (type, limit, afterId = '') => statements.byType.all(type, afterId, limit).map(toNode),
    countByType: async (type) => statements.countByType.get(type)?.count ?? 0,
    // A fragment that JSON would escape differently is searched as JSON writes it.
    findByText: async (fragment) => statements.byText.all(JSON.stringify(fragment).slice(1, -1)).map(toNode),
    readCounter: async (name) => statements.counter.get(name)?.value ?? 0,

    addNode: async (path, options: AddNodeOptions = {}) => {
      const target = checkPath(path);
      if (target === '/' || statements.byPath.get(target)) {
        throw new CapsuleError('NODE_EXISTS', `a node already exists at ${target}`);
      }
      const missing: string[] = [];
      for (let parent = parentOf(target); parent !== null && !statements.byPath.get(parent); parent = parentOf(parent)) {
        missing.unshift(parent);
      }
      for (const folder of missing) insertNode(folder, FOLDER_TYPE, {});
      changed(target);
      return insertNode(target, options.type ?? 'capsule:Node', options.properties ?? {});
    },
    setProperties: async (path, changes) => {
      const row = rowAt(path);
      if (!row) throw new CapsuleError('NODE_NOT_FOUND', `no node at ${path}`);
      const stored = JSON.parse(row.props) as Record<string, StoredProperty>;
      for (const [name, value] of Object.entries(changes)) {
        if (value === null) delete stored[name];
        else stored[name] = encodeProperty(name, value);
        reindex(row.id, name, value ?? undefined);
      }
      const updated = { ...row, props: JSON.stringify(stored), modified: clock.now() };
      statements.updateProps.run(updated.props, updated.modified, row.id);
      changed(row.path);
      return toNode(updated);
    },
    removeNode: async (path) => {
      const target = checkPath(path);
      if (target === '/') throw new CapsuleError('INVALID_PATH', 'the root node cannot be removed');
      const removed = statements.deletePath.run(target).changes;
      const below = statements.deleteSubtree.run(`${target}/`, `${target}0`).changes;
      if (removed + below > 0) changed(target);
      return removed > 0;
    },
    bumpCounter: async (name) => {
      bumped.add(name);
      return statements.bump.get(name)?.value ?? 0;
    },
    readCounters: async () => Object.fromEntries(statements.counters.all().map((row) => [row.name, row.value])),
    putNode: async (node) => putStoredNode(node),
    // One process holds the file and statements are prepared: a loop costs no round trips here.
    putNodes: async (nodes) => {
      for (const node of nodes) putStoredNode(node);
    },
    setCounter: async (name, value) => {
      statements.setCounter.run(name, value);
    },
  };

  async function transaction<T>(work: (tx: RepositoryWriter) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return mutex.run(async () => {
      // WAL with synchronous=NORMAL may lose the last commits on a power loss; FULL syncs this one.
      if (options.durable) db.pragma('synchronous = FULL');
      try {
        return await inTransaction(work);
      } finally {
        if (options.durable) db.pragma('synchronous = NORMAL');
      }
    });
  }

  /** One transaction on the connection the caller holds (the mutex). */
  async function inTransaction<T>(work: (tx: RepositoryWriter) => Promise<T>): Promise<T> {
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      // Another process held the write lock for the whole busy timeout: a busy repository, not a bug.
      if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
        throw new CapsuleError('REPOSITORY_UNAVAILABLE', `the repository ${file} stayed locked by another process for ${Math.round(busyTimeoutMs / 1000)} s; try again`, { cause: error });
      }
      throw error;
    }
    changedTrees.clear();
    bumped.clear();
    try {
      const result = await work(writer);
      for (const root of changedTrees) await writer.bumpCounter(treeCounter(root));
      db.exec('COMMIT');
      if (bumped.size > 0) tellCommitListeners(commitListeners, new Set(bumped));
      return result;
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }

  // Reads outside a transaction wait while one is open, so they never see uncommitted writes.
  function read<A extends unknown[], R>(method: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return (...args) => (mutex.locked ? mutex.idle().then(() => method(...args)) : method(...args));
  }

  return {
    getNode: read(writer.getNode),
    getNodeById: read(writer.getNodeById),
    getPropertiesById: read(writer.getPropertiesById),
    getChildren: read(writer.getChildren),
    getSubtree: read(writer.getSubtree),
    getNodesAfter: read(writer.getNodesAfter),
    findByProperty: read(writer.findByProperty),
    findByPropertyRange: read(writer.findByPropertyRange),
    getChildrenRange: read(writer.getChildrenRange),
    countChildren: read(writer.countChildren),
    findByType: read(writer.findByType),
    countByType: read(writer.countByType),
    findByText: read(writer.findByText),
    readCounter: read(writer.readCounter),
    addNode: (path, options) => transaction((tx) => tx.addNode(path, options)),
    setProperties: (path, changes) => transaction((tx) => tx.setProperties(path, changes)),
    removeNode: (path) => transaction((tx) => tx.removeNode(path)),
    bumpCounter: (name) => transaction((tx) => tx.bumpCounter(name)),
    readCounters: read(writer.readCounters),
    putNode: (node) => transaction((tx) => tx.putNode(node)),
    putNodes: (nodes) => transaction((tx) => tx.putNodes(nodes)),
    setCounter: (name, value) => transaction((tx) => tx.setCounter(name, value)),
    backend: 'sqlite',
    created,
    transaction,
    // Other processes on this file are CLI commands, which run no jobs: polling finds their writes.
    onCounterBumped: () => () => undefined,
    onCommit(listener) {
      commitListeners.add(listener);
      return () => commitListeners.delete(listener);
    },
    runExclusive: async (job, work) => {
      if (runningJobs.has(job)) return false;
      runningJobs.add(job);
      try {
        await work();
        return true;
      } finally {
        runningJobs.delete(job);
      }
    },
    info: read(async (options?: { readonly countNodes?: boolean }): Promise<RepositoryInfo> => {
      const size = (suffix: string) => (existsSync(file + suffix) ? statSync(file + suffix).size : 0);
      return {
        backend: 'sqlite',
        location: file,
        sizeBytes: size('') + size('-wal'),
        schemaVersion: SCHEMA_VERSION,
        nodeCount: options?.countNodes === false ? null : (statements.nodeCount.get()?.count ?? 0),
      };
    }),
    close: async () => {
      await mutex.idle();
      if (db.open) db.close();
    },
  };
}

function openDatabase(file: string, create: boolean, busyTimeoutMs: number, clock: Clock): { db: SqliteConnection; created: boolean } {
  const existed = existsSync(file);
  if (!existed && !create) {
    throw new CapsuleError('HOME_UNREADABLE', `no repository at ${file}; start an instance to create one`);
  }
  let db: SqliteConnection;
  try {
    // SQLite gives its -wal and -shm files the mode of the database file: make that 0600 first.
    if (!existed) closeSync(openSync(file, 'wx', 0o600));
    db = new Database(file, { fileMustExist: true, timeout: busyTimeoutMs });
  } catch (error) {
    throw new CapsuleError('HOME_UNREADABLE', `cannot open the repository ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    // Read the header before writing anything: a newer or foreign file must stay untouched.
    const applicationId = db.pragma('application_id', { simple: true }) as number;
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = db.prepare('SELECT count(*) AS count FROM sqlite_master').get() as { count: number };
    if (applicationId !== CAPSULE_APPLICATION_ID && (applicationId !== 0 || version !== 0 || tables.count !== 0)) {
      throw new CapsuleError(
        'REPOSITORY_DAMAGED',
        `${file} is not a Capsule repository (application id ${applicationId}); restore it from a backup or move it away`,
      );
    }
    if (version > SCHEMA_VERSION) {
      throw new CapsuleError(
        'REPOSITORY_SCHEMA_NEWER',
        `the repository ${file} has schema version ${version}, newer than this Capsule supports (${SCHEMA_VERSION}); upgrade Capsule`,
      );
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // Stateful tokens are looked up by id on every request: keep the pages in memory.
    db.pragma('cache_size = -65536');
    // The whole file mapped (address space, not memory): with a million stateful tokens (about 750 MiB)
    // a 256 MiB map left most token reads to a read() system call each, 27% slower than with 1,000.
    db.pragma('mmap_size = 4294967296');
    migrate(db, version, clock);
    return { db, created: version === 0 };
  } catch (error) {
    db.close();
    if (error instanceof CapsuleError) throw error;
    throw new CapsuleError(
      'REPOSITORY_DAMAGED',
      `the repository ${file} is damaged or not a database (${(error as Error).message}); restore it from a backup`,
      { cause: error },
    );
  }
}

function migrate(db: SqliteConnection, from: number, clock: Clock): void {
  if (from === SCHEMA_VERSION) return;
  const apply = db.transaction(() => {
    for (let version = from; version < SCHEMA_VERSION; version++) db.exec(MIGRATIONS[version] ?? '');
    if (from === 0) {
      const now = clock.now();
      db.prepare(
        "INSERT INTO nodes (id, path, parent, name, type, props, created, modified) VALUES (?, '/', NULL, '', 'capsule:Root', '{}', ?, ?)",
      ).run(newNodeId(), now, now);
    }
    db.pragma(`application_id = ${CAPSULE_APPLICATION_ID}`);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  });
  apply.immediate();
}
