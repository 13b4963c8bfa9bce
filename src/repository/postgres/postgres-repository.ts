import { newNodeId } from '../node-id.js';
import pg from 'pg';
import { CapsuleError } from '../../errors.js';
import { tlsOptionsOf, tlsRefusalOf } from './tls.js';
import { tellCommitListeners } from '../commit-listeners.js';
import type { Clock } from '../../clock.js';
import { checkPath, nameOf, parentOf } from '../paths.js';
import { decodeProperties, decodeSomeProperties, encodeProperties, encodeProperty, indexedValues, type StoredProperty } from '../properties.js';
import {
  INDEXED_PROPERTIES,
  MAX_TRANSACTION_ATTEMPTS,
  type AddNodeOptions,
  type Properties,
  type RangeQuery,
  type Repository,
  type RepositoryInfo,
  type RepositoryNode,
  type RepositoryWriter,
  type TransactionOptions,
  treeCounter,
  treesChangedAt,
} from '../types.js';
import { describeLocation, parsePostgresUrl, passwordFor, type PostgresLocation } from './location.js';
import { rangeBounds } from '../range.js';
import { putNodesInBatches } from './bulk-write.js';
import { COUNTER_CHANNEL, LOCK_NAMESPACE, POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION } from './schema.js';

export interface PostgresRepositoryOptions {
  /** `postgres://user[:password]@host:port/database`; without a password, PGPASSWORD or ~/.pgpass. */
  readonly url: string;
  /** Create the schema in an empty database (only `start` and `repository copy` do). */
  readonly create?: boolean;
  readonly clock: Clock;
  readonly env?: NodeJS.ProcessEnv;
  /** Connections in the pool (default 10). */
  readonly poolSize?: number;
  /** How long a new connection may take, in ms (default 5000). */
  readonly connectTimeoutMs?: number;
  /** Shown in pg_stat_activity. */
  readonly applicationName?: string;
  /**
   * How long one statement may go unanswered, in ms, before the connection is given up and the
   * call fails with REPOSITORY_UNAVAILABLE (default: the URL's `query_timeout` in seconds, else
   * 30 s): a server or network that stops answering must not hold a request forever.
   */
  readonly queryTimeoutMs?: number;
}

interface NodeRow {
  id: string;
  path: string;
  name: string;
  type: string;
  props: string;
  created: string | number;
  modified: string | number;
}

type Queryable = Pick<pg.PoolClient, 'query'>;

const FOLDER_TYPE = 'capsule:Folder';
const NODE_COLUMNS = 'id, path, name, type, props, created, modified';

// Node errno codes and SQLSTATEs that mean "the server cannot serve this (now)", not "the query
// is wrong": connection loss (08), shutdown, cancel and timeouts (57), resources (53), system
// errors (58), a lock not granted (55P03), a read-only server such as a standby after a failover
// (25006, 25P03 idle in transaction timeout), authentication (28) and a missing database.
const UNREACHABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);
const UNREACHABLE_SQLSTATE = /^(08|53|57|58|28|55P03$|25006$|25P03$|3D000$)/;
// Conflicts with another transaction: `work` runs again. A unique-key violation (23505) is a race
// only while another transaction may have inserted the same key: the next attempt sees that row.
const RETRYABLE_SQLSTATE = new Set(['40001', '40P01', '23505']);
const UNIQUE_VIOLATION_ATTEMPTS = 3;
const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function queryTimeoutOf(params: Readonly<Record<string, string>>): number {
  const given = params.query_timeout;
  if (given === undefined) return DEFAULT_QUERY_TIMEOUT_MS;
  const seconds = Number(given);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new CapsuleError('INVALID_ARGUMENT', `the repository URL has query_timeout=${given}; give a number of seconds above 0`);
  }
  return Math.round(seconds * 1000);
}

/** pg gave up waiting for an answer: the connection still waits for it and cannot be used again. */
function isQueryTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'Query read timeout';
}

function isUnreachable(error: unknown): boolean {
  if (tlsRefusalOf(error) !== null) return true;
  const code = sqlState(error);
  if (code && (UNREACHABLE_ERRNO.has(code) || UNREACHABLE_SQLSTATE.test(code))) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection error|timeout exceeded when trying to connect|Query read timeout|Client was closed|not queryable|Connection ended|password must be a (non-empty )?string/i.test(message);
}

function reasonOf(error: unknown, location: PostgresLocation, passwordMissing: boolean): string {
  const tls = tlsRefusalOf(error);
  if (tls !== null) return tls;
  const code = sqlState(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ECONNREFUSED') return 'connection refused (is PostgreSQL running and listening there?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host ${location.host} not found`;
  if (code === '3D000') return `database ${location.database} does not exist; create it with 'createdb ${location.database}'`;
  if (/password must be a (non-empty )?string/i.test(message)) return `no password for user ${location.user}: give it in the URL at start, in PGPASSWORD or in ~/.pgpass`;
  if (code?.startsWith('28') && passwordMissing) {
    return `no password for user ${location.user}: give it in the URL at start, in PGPASSWORD or in ~/.pgpass`;
  }
  if (code?.startsWith('28')) return `${message} (check the user and the password in the URL, PGPASSWORD or ~/.pgpass)`;
  if (code === '57P01' || code === '57P02' || code === '57P03') return `${message} (the server is restarting, shutting down or ended this connection)`;
  if (code === '25006') return `${message} (the server is read-only: a standby, or default_transaction_read_only is on)`;
  if (/Query read timeout/i.test(message)) return 'the server did not answer a statement in time (query_timeout); the connection was given up';
  return message.replace(/\s+/g, ' ');
}

export async function openPostgresRepository(options: PostgresRepositoryOptions): Promise<Repository> {
  const env = options.env ?? process.env;
  const location = parsePostgresUrl(options.url, env);
  const where = describeLocation(location);
  const { clock } = options;
  const queryTimeoutMs = options.queryTimeoutMs ?? queryTimeoutOf(location.params);
  let passwordMissing = false;
  const config: pg.PoolConfig = {
    host: location.host,
    port: location.port,
    database: location.database,
    user: location.user,
    // Asked for on each new connection, so a changed ~/.pgpass is picked up; never logged. With
    // none, a placeholder lets the server refuse and close the connection (pg would keep the
    // socket of a client-side "no password" error open), and the error says what is missing.
    password: async () => {
      const password = passwordFor(location, env);
      passwordMissing = password === undefined;
      return password ?? 'capsule-no-password-given';
    },
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    // A dead peer on an idle or waiting connection is found by TCP keepalive, a silent one by the
    // statement timeout (pg gives up waiting; the connection is then destroyed, not pooled).
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    query_timeout: queryTimeoutMs,
    application_name: options.applicationName ?? 'capsule',
    ssl: tlsOptionsOf(location.params),
  };
  const pool = new pg.Pool(config);
  // A connection the server drops (restart, failover, pg_terminate_backend) emits 'error', and an
  // 'error' event nobody listens to ends the process. The pool listens while a connection is idle
  // (and then removes it); this listener, given to every connection as it is made, covers the
  // time it is checked out, and remembers the loss so that the connection is released broken.
  const lostConnections = new WeakMap<pg.ClientBase, Error>();
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', (error: Error) => {
      if (!lostConnections.has(client)) lostConnections.set(client, error);
    });
  });
  /** Gives a checked-out connection back; one that was lost or left unusable is destroyed, not pooled. */
  function release(client: pg.PoolClient, broken: boolean): void {
    const lost = lostConnections.get(client);
    client.release(lost ?? (broken ? new Error('connection left in an unknown state') : undefined));
  }

  function translate(error: unknown, doing = 'reach'): unknown {
    if (error instanceof CapsuleError) return error;
    if (isUnreachable(error)) {
      return new CapsuleError('REPOSITORY_UNAVAILABLE', `cannot ${doing} the repository on PostgreSQL (${where}): ${reasonOf(error, location, passwordMissing)}`, {
        cause: error,
      });
    }
    return error;
  }

  async function connect(doing?: string): Promise<pg.PoolClient> {
    try {
      return await pool.connect();
    } catch (error) {
      throw translate(error, doing);
    }
  }

  let created = false;
  try {
    created = await prepareSchema(await connect('connect to'), release, options.create ?? false, location, where, clock.now());
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw translate(error, 'connect to');
  }

  function toNode(row: NodeRow): RepositoryNode {
    return {
      id: row.id,
      path: row.path,
      name: row.name,
      type: row.type,
      properties: decodeProperties(row.props),
      created: new Date(Number(row.created)),
      modified: new Date(Number(row.modified)),
    };
  }

  /** What one transaction attempt changed: counted trees to bump before COMMIT, counters bumped to announce after. */
  interface Changes {
    readonly trees: Set<string>;
    readonly bumped: Set<string>;
  }

  /** `onConflict` undefined: no transaction to run again (a read on its own), so a conflict is "busy now" (503). */
  function writerOn(db: Queryable, onConflict: (() => void) | undefined, changes: Changes = { trees: new Set(), bumped: new Set() }): RepositoryWriter {
    const changed = (path: string) => {
      for (const root of treesChangedAt(path)) changes.trees.add(root);
    };
    async function rows<R extends pg.QueryResultRow>(name: string | undefined, text: string, values: unknown[]): Promise<R[]> {
      try {
        const result = await db.query<R>(name ? { name, text, values } : { text, values });
        return result.rows;
      } catch (error) {
        if (RETRYABLE_SQLSTATE.has(sqlState(error) ?? '')) {
          if (onConflict) onConflict();
          else throw new CapsuleError('REPOSITORY_UNAVAILABLE', `the repository on PostgreSQL (${where}) is busy: ${reasonOf(error, location, false)}; try again`, { cause: error });
        }
        throw translate(error);
      }
    }
    const nodes = (name: string | undefined, text: string, values: unknown[]) => rows<NodeRow>(name, text, values).then((list) => list.map(toNode));
    // One prepared statement per shape of range (bounds and type given or not).
    function rangeNodes(kind: 'property' | 'children', key: string, query: RangeQuery): Promise<RepositoryNode[]> {
      const { lower, lowerExclusive, upper } = rangeBounds(query);
      const column = kind === 'property' ? 'i.value' : 'name';
      const values: unknown[] = [key, lower];
      let where = `${column} ${lowerExclusive ? '>' : '>='} $2`;
      if (upper !== null) where += ` AND ${column} < $${values.push(upper)}`;
      if (query.type !== undefined) where += ` AND ${kind === 'property' ? 'n.' : ''}type = $${values.push(query.type)}`;
      const limit = `$${values.push(query.limit)}`;
      const name = `capsule_range_${kind}_${lowerExclusive ? 'after' : 'from'}${upper !== null ? '_upper' : ''}${query.type !== undefined ? '_type' : ''}`;
      return nodes(
        name,
        kind === 'property'
          ? // The primary key (name, value, node_id), COLLATE "C", serves the range and its order.
            `SELECT n.id, n.path, n.name, n.type, n.props, n.created, n.modified FROM capsule_property_index i JOIN capsule_nodes n ON n.id = i.node_id WHERE i.name = $1 AND ${where} ORDER BY i.value, i.node_id LIMIT ${limit}`
          : `SELECT ${NODE_COLUMNS} FROM capsule_nodes WHERE parent = $1 AND ${where} ORDER BY name LIMIT ${limit}`,
        values,
      );
    }
    const rowAt = async (path: string) => (await rows<NodeRow>('capsule_by_path', `SELECT ${NODE_COLUMNS} FROM capsule_nodes WHERE path = $1`, [path]))[0];

    async function reindex(nodeId: string, name: string, value: Properties[string] | undefined): Promise<void> {
      if (!INDEXED_PROPERTIES.includes(name)) return;
      await rows(undefined, 'DELETE FROM capsule_property_index WHERE node_id = $1 AND name = $2', [nodeId, name]);
      const values = indexedValues(value);
      if (values.length > 0) {
        await rows(
          undefined,
          'INSERT INTO capsule_property_index (name, value, node_id) SELECT $1, v, $3 FROM unnest($2::text[]) AS v ON CONFLICT DO NOTHING',
          [name, [...new Set(values)], nodeId],
        );
      }
    }

    /**
     * The index rows of a node just inserted, in one statement: its id is new (or was removed with
     * the node at its path, index rows and all), so there is nothing of it to delete first.
     */
    async function indexNewNode(nodeId: string, properties: Properties): Promise<void> {
      const names: string[] = [];
      const values: string[] = [];
      for (const [name, value] of Object.entries(properties)) {
        if (!INDEXED_PROPERTIES.includes(name)) continue;
        for (const item of new Set(indexedValues(value))) {
          names.push(name);
          values.push(item);
        }
      }
      if (names.length === 0) return;
      await rows(
        'capsule_index_new_node',
        'INSERT INTO capsule_property_index (name, value, node_id) SELECT u.name, u.value, $3 FROM unnest($1::text[], $2::text[]) AS u(name, value) ON CONFLICT DO NOTHING',
        [names, values, nodeId],
      );
    }

    async function insertNode(id: string, path: string, type: string, properties: Properties, createdMs: number, modifiedMs: number): Promise<RepositoryNode> {
      const props = encodeProperties(properties);
      await rows(
        'capsule_insert',
        'INSERT INTO capsule_nodes (id, path, parent, name, type, props, created, modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [id, path, parentOf(path), nameOf(path), type, props, createdMs, modifiedMs],
      );
      await indexNewNode(id, properties);
      return toNode({ id, path, name: nameOf(path), type, props, created: createdMs, modified: modifiedMs });
    }

    return {
      getNode: async (path) => {
        const row = await rowAt(checkPath(path));
        return row ? toNode(row) : null;
      },
      getNodeById: async (id) => (await nodes('capsule_by_id', `SELECT ${NODE_COLUMNS} FROM capsule_nodes WHERE id = $1`, [id]))[0] ?? null,
      getPropertiesById: async (id, names) => {
        const row = (await rows<{ type: string; props: string }>('capsule_properties_by_id', 'SELECT type, props FROM capsule_nodes WHERE id = $1', [id]))[0];
        return row ? { type: row.type, properties: decodeSomeProperties(row.props, names) } : null;
      },
      getChildren: async (path) =>
        nodes('capsule_children', `SELECT ${NODE_COLUMNS} FROM capsule_nodes WHERE parent = $1 ORDER BY name`, [checkPath(path)]),
      getSubtree: async (path) => {
        const root = checkPath(path);
        return root === '/'
          ? nodes('capsule_all', `SELECT ${NODE_COLUMNS} FROM capsule_nodes ORDER BY path`, [])
          : nodes('capsule_subtree', `SELECT ${NODE_COLUMNS} FROM capsule_nodes WHERE path = $1 OR (path >= $2 AND path < $3) ORDER BY path`, [
              root,
              `${root}/`,
              `${root}0`,
            ]);
      },
      findByProperty: async (name, value, type) =>
        type === undefined
          ? nodes(
              'capsule_by_property',
              `SELECT n.id, n.path, n.name, n.type, n.props, n.created, n.modified FROM capsule_property_index i JOIN capsule_nodes n ON n.id = i.node_id WHERE i.name = $1 AND i.value = $2 ORDER BY n.path`,
              [name, value],
            )
          : nodes(
              'capsule_by_property_type',
              `SELECT n.id, n.path, n.name, n.type, n.props, n.created, n.modified FROM capsule_property_index i JOIN capsule_nodes n ON n.id = i.node_id WHERE i.name = $1 AND i.value = $2 AND n.type = $3 ORDER BY n.path`,
              [name, value, type],
            ),
      getNodesAfter: async (afterPath, limit) =>
        nodes('capsule_nodes_after', `SELECT ${NODE_COLUMNS} FROM capsule_nodes WHERE path > $1 ORDER BY path LIMIT $2`, [afterPath, limit]),
      findByPropertyRange: (name, query) => rangeNodes('property', name, query),
      getChildrenRange: (path, query) => rangeNodes('children', checkPath(path), query),
      countChildren: async (path, type) =>
        Number(
          (type === undefined
            ? await rows<{ count: string }>('capsule_count_children', 'SELECT count(*) AS count FROM capsule_nodes WHERE parent = $1', [checkPath(path)])
            : await rows<{ count: string }>('capsule_count_children_type', 'SELECT count(*) AS count FROM capsule_nodes WHERE parent = $1 AND type = $2', [checkPath(path), type])
          )[0]?.count ?? 0,
        ),
      findByType: async (type, limit, afterId = '') =>
        nodes('capsule_by_type', `SELECT ${NODE_COLUMNS} FROM capsule_nodes WHERE type = $1 AND id > $2 ORDER BY id LIMIT $3`, [type, afterId, limit]),
      countByType: async (type) =>
        Number((await rows<{ count: string }>('capsule_count_type', 'SELECT count(*) AS count FROM capsule_nodes WHERE type = $1', [type]))[0]?.count ?? 0),
      // As in SQLite: the fragment is searched as JSON writes it inside the stored properties.
      findByText: async (fragment) =>
        nodes('capsule_by_text', `SELECT ${NODE_COLUMNS} FROM capsule_nodes WHERE strpos(props, $1) > 0 ORDER BY path`, [JSON.stringify(fragment).slice(1, -1)]),
      readCounter: async (name) =>
        Number((await rows<{ value: string }>('capsule_counter', 'SELECT value FROM capsule_counters WHERE name = $1', [name]))[0]?.value ?? 0),
      readCounters: async () =>
        Object.fromEntries(
          (await rows<{ name: string; value: string }>(undefined, 'SELECT name, value FROM capsule_counters ORDER BY name', [])).map((row) => [row.name, Number(row.value)]),
        ),

      addNode: async (path, options: AddNodeOptions = {}) => {
        const target = checkPath(path);
        if (target === '/' || (await rowAt(target))) throw new CapsuleError('NODE_EXISTS', `a node already exists at ${target}`);
        const missing: string[] = [];
        for (let parent = parentOf(target); parent !== null && !(await rowAt(parent)); parent = parentOf(parent)) missing.unshift(parent);
        const now = clock.now();
        for (const folder of missing) await insertNode(newNodeId(), folder, FOLDER_TYPE, {}, now, now);
        changed(target);
        return insertNode(newNodeId(), target, options.type ?? 'capsule:Node', options.properties ?? {}, now, now);
      },
      setProperties: async (path, changes) => {
        const row = await rowAt(checkPath(path));
        if (!row) throw new CapsuleError('NODE_NOT_FOUND', `no node at ${path}`);
        const stored = JSON.parse(row.props) as Record<string, StoredProperty>;
        for (const [name, value] of Object.entries(changes)) {
          if (value === null) delete stored[name];
          else stored[name] = encodeProperty(name, value);
          await reindex(row.id, name, value ?? undefined);
        }
        const updated: NodeRow = { ...row, props: JSON.stringify(stored), modified: clock.now() };
        await rows('capsule_update_props', 'UPDATE capsule_nodes SET props = $1, modified = $2 WHERE id = $3', [updated.props, updated.modified, row.id]);
        changed(row.path);
        return toNode(updated);
      },
      removeNode: async (path) => {
        const target = checkPath(path);
        if (target === '/') throw new CapsuleError('INVALID_PATH', 'the root node cannot be removed');
        const removed = await rows<{ id: string; path: string }>(
          'capsule_remove',
          'DELETE FROM capsule_nodes WHERE path = $1 OR (path >= $2 AND path < $3) RETURNING id, path',
          [target, `${target}/`, `${target}0`],
        );
        if (removed.length > 0) changed(target);
        return removed.some((row) => row.path === target);
      },
      // The notification is sent when the transaction commits, and only then.
      bumpCounter: async (name) => {
        changes.bumped.add(name);
        return Number(
          (
            await rows<{ value: string }>(
              'capsule_bump',
              `WITH bumped AS (
                 INSERT INTO capsule_counters (name, value) VALUES ($1, 1)
                 ON CONFLICT (name) DO UPDATE SET value = capsule_counters.value + 1 RETURNING value
               ) SELECT value, pg_notify('${COUNTER_CHANNEL}', $1) FROM bumped`,
              [name],
            )
          )[0]?.value ?? 0,
        );
      },
      putNode: async (node) => {
        const path = checkPath(node.path);
        await rows(undefined, 'DELETE FROM capsule_nodes WHERE path = $1', [path]);
        await insertNode(node.id, path, node.type, node.properties, node.created.getTime(), node.modified.getTime());
      },
      putNodes: (list) => putNodesInBatches((name, text, values) => rows(name, text, values), list),
      setCounter: async (name, value) => {
        await rows(
          undefined,
          'INSERT INTO capsule_counters (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
          [name, value],
        );
      },
    };
  }

  // Reads outside a transaction: one statement, one round trip, on any pooled connection.
  const reader = writerOn(pool, undefined);

  async function transaction<T>(work: (tx: RepositoryWriter) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await connect();
      let conflict = false;
      let broken = false;
      try {
        await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
        // The server may run with synchronous_commit off (fast, but a crash loses the last commits).
        if (options.durable) await client.query('SET LOCAL synchronous_commit = on');
        const changes: Changes = { trees: new Set(), bumped: new Set() };
        const tx = writerOn(client, () => (conflict = true), changes);
        const result = await work(tx);
        for (const root of changes.trees) await tx.bumpCounter(treeCounter(root));
        // Answered only once COMMIT says it committed: a lost connection here is an unknown outcome (503).
        await commit(client);
        if (changes.bumped.size > 0) tellCommitListeners(commitListeners, changes.bumped);
        return result;
      } catch (error) {
        if (RETRYABLE_SQLSTATE.has(sqlState(error) ?? '')) conflict = true; // COMMIT itself may fail so
        // A statement pg stopped waiting for still occupies the connection: a ROLLBACK would wait too.
        if (isQueryTimeout(error)) broken = true;
        else await client.query('ROLLBACK').catch(() => (broken = true));
        if (!conflict || broken) throw translate(error);
        if (sqlState(error) === '23505' && attempt >= UNIQUE_VIOLATION_ATTEMPTS) {
          // Still there after the racing transactions committed: a genuine duplicate, not a race.
          throw new CapsuleError('NODE_EXISTS', `a node with that path or id already exists in the repository on PostgreSQL (${where})`, { cause: error });
        }
        if (attempt >= MAX_TRANSACTION_ATTEMPTS) {
          throw new CapsuleError(
            'REPOSITORY_UNAVAILABLE',
            `the repository on PostgreSQL (${where}) stayed too busy: a transaction conflicted ${attempt} times with others; try again`,
            { cause: error },
          );
        }
      } finally {
        release(client, broken);
      }
      // Another process won the race: wait a little (more each time, with jitter) and run `work` again.
      await new Promise((resolve) => setTimeout(resolve, Math.min(200, 2 ** attempt) * (0.5 + Math.random())));
    }
  }

  const commitListeners = new Set<(bumped: ReadonlySet<string>) => void>();
  const listeners = new Set<(name: string) => void>();
  let listenClient: pg.Client | undefined;
  let listenRetry: NodeJS.Timeout | undefined;
  let closed = false;

  async function listen(): Promise<void> {
    if (closed || listenClient || listeners.size === 0) return;
    const client = new pg.Client(config);
    listenClient = client;
    const lost = () => {
      if (listenClient !== client) return;
      listenClient = undefined;
      void client.end().catch(() => undefined);
      if (!closed) {
        listenRetry = setTimeout(() => void listen(), 1000);
        listenRetry.unref();
      }
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (message) => {
      if (message.channel !== COUNTER_CHANNEL) return;
      for (const listener of listeners) listener(message.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${COUNTER_CHANNEL}`);
      // Bumps made while nobody listened (first start, or a lost connection) are unknown: say so.
      for (const listener of listeners) listener('');
    } catch {
      lost();
    }
  }

  return {
    ...reader,
    addNode: (path, options) => transaction((tx) => tx.addNode(path, options)),
    setProperties: (path, changes) => transaction((tx) => tx.setProperties(path, changes)),
    removeNode: (path) => transaction((tx) => tx.removeNode(path)),
    bumpCounter: (name) => transaction((tx) => tx.bumpCounter(name)),
    putNode: (node) => transaction((tx) => tx.putNode(node)),
    putNodes: (list) => transaction((tx) => tx.putNodes(list)),
    setCounter: (name, value) => transaction((tx) => tx.setCounter(name, value)),
    backend: 'postgres',
    created,
    transaction,
    onCommit(listener) {
      commitListeners.add(listener);
      return () => commitListeners.delete(listener);
    },
    onCounterBumped(listener) {
      listeners.add(listener);
      void listen();
      return () => listeners.delete(listener);
    },
    async runExclusive(job, work) {
      const client = await connect();
      let broken = false;
      try {
        const { rows } = await client
          .query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [LOCK_NAMESPACE, job])
          .catch((error: unknown) => {
            broken = isQueryTimeout(error);
            throw translate(error);
          });
        if (!rows[0]?.locked) return false;
        try {
          await work();
          return true;
        } finally {
          await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_NAMESPACE, job]).catch(() => (broken = true));
        }
      } finally {
        // A connection whose unlock failed is dropped: the server frees its locks with it.
        release(client, broken);
      }
    },
    async info(options?: { readonly countNodes?: boolean }): Promise<RepositoryInfo> {
      const client = await connect();
      let broken = false;
      try {
        const { rows } = await client.query<{ size: string; nodes: string | null; synchronous_commit: string }>(
          `SELECT current_setting('synchronous_commit') AS synchronous_commit,
                  ${options?.countNodes === false ? 'NULL' : '(SELECT count(*) FROM capsule_nodes)'} AS nodes,
                  (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
                     WHERE c.relkind = 'r' AND c.relname LIKE 'capsule\\_%' AND c.relnamespace = current_schema()::regnamespace) AS size`,
        );
        return {
          backend: 'postgres',
          location: location.display,
          sizeBytes: Number(rows[0]?.size ?? 0),
          schemaVersion: POSTGRES_SCHEMA_VERSION,
          nodeCount: rows[0]?.nodes === null || rows[0]?.nodes === undefined ? (options?.countNodes === false ? null : 0) : Number(rows[0].nodes),
          warnings: durabilityWarnings(rows[0]?.synchronous_commit),
        };
      } catch (error) {
        broken = isQueryTimeout(error);
        throw translate(error);
      } finally {
        release(client, broken);
      }
    },
    async close() {
      closed = true;
      clearTimeout(listenRetry);
      const client = listenClient;
      listenClient = undefined;
      await client?.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
}

/** How long an instance waits for another that is creating or raising the schema. */
const SCHEMA_LOCK_WAIT_MS = 15 * 60_000;
/** PostgreSQL's lock_not_available: a lock_timeout ended the wait. */
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Reads the schema version under an advisory lock, so that two instances starting on one empty
 * database create the schema once. Returns whether this call created it.
 */
async function prepareSchema(
  client: pg.PoolClient,
  release: (client: pg.PoolClient, broken: boolean) => void,
  create: boolean,
  location: PostgresLocation,
  where: string,
  now: number,
): Promise<boolean> {
  let broken = false;
  try {
    await client.query('BEGIN');
    // Another instance holding the lock is creating or raising the schema, which at a million
    // users takes minutes (migration 3): wait for it far longer than a statement may take. The
    // server ends the wait (lock_timeout), so no session of this one is left waiting; a
    // statement_timeout set on the server must not cut it, nor the migration, short. A holder that
    // dies loses the lock with its connection. The client's query_timeout is only a backstop.
    // (node-postgres reads a query's own query_timeout; its types do not list it.)
    await client.query(`SET LOCAL lock_timeout = ${SCHEMA_LOCK_WAIT_MS}`);
    await client.query('SET LOCAL statement_timeout = 0');
    const schemaLock: pg.QueryConfig & { query_timeout: number } = { text: 'SELECT pg_advisory_xact_lock($1, 0)', values: [LOCK_NAMESPACE], query_timeout: SCHEMA_LOCK_WAIT_MS + 60_000 };
    await client.query(schemaLock).catch((error: unknown) => {
      if ((error as { code?: unknown }).code !== LOCK_NOT_AVAILABLE) throw error;
      throw new CapsuleError(
        'REPOSITORY_UNAVAILABLE',
        `another instance has held the schema lock of database ${location.database} (${where}) for ${SCHEMA_LOCK_WAIT_MS / 60_000} minutes: it is creating or raising the schema, or stuck; if it is stuck, end its session: SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = ${LOCK_NAMESPACE} AND objid = 0 AND granted`,
      );
    });
    const { rows } = await client.query<{ meta: string | null; tables: string }>(
      `SELECT to_regclass('capsule_meta')::text AS meta,
              (SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()) AS tables`,
    );
    const hasMeta = rows[0]?.meta !== null && rows[0]?.meta !== undefined;
    if (!hasMeta) {
      if (Number(rows[0]?.tables ?? 0) > 0) {
        throw new CapsuleError(
          'REPOSITORY_DAMAGED',
          `database ${location.database} (${where}) holds tables but is not a Capsule repository; give Capsule an empty database of its own`,
        );
      }
      if (!create) {
        throw new CapsuleError(
          'HOME_UNREADABLE',
          `database ${location.database} (${where}) holds no Capsule repository yet; start an instance with --repository ${location.display} to create one`,
        );
      }
      await client.query('CREATE TABLE capsule_meta (key text PRIMARY KEY, value text NOT NULL)');
      await client.query("INSERT INTO capsule_meta (key, value) VALUES ('application', 'capsule'), ('schema_version', '0')");
    }
    const version = Number(
      (await client.query<{ value: string }>("SELECT value FROM capsule_meta WHERE key = 'schema_version'")).rows[0]?.value ?? 0,
    );
    if (version > POSTGRES_SCHEMA_VERSION) {
      throw new CapsuleError(
        'REPOSITORY_SCHEMA_NEWER',
        `the repository in database ${location.database} has schema version ${version}, newer than this Capsule supports (${POSTGRES_SCHEMA_VERSION}); upgrade Capsule`,
      );
    }
    for (let next = version; next < POSTGRES_SCHEMA_VERSION; next++) {
      const migration = POSTGRES_MIGRATIONS[next]!;
      if (typeof migration === 'string') await client.query(migration);
      else await migration(client);
    }
    if (version === 0) {
      await client.query(
        "INSERT INTO capsule_nodes (id, path, parent, name, type, props, created, modified) VALUES ($1, '/', NULL, '', 'capsule:Root', '{}', $2, $2)",
        [newNodeId(), now],
      );
    }
    if (version !== POSTGRES_SCHEMA_VERSION) {
      await client.query("UPDATE capsule_meta SET value = $1 WHERE key = 'schema_version'", [String(POSTGRES_SCHEMA_VERSION)]);
    }
    await commit(client);
    return version === 0;
  } catch (error) {
    if (isQueryTimeout(error)) broken = true;
    else await client.query('ROLLBACK').catch(() => (broken = true));
    throw error;
  } finally {
    release(client, broken);
  }
}

/** What a server's synchronous_commit means for the writes Capsule reports as done. */
function durabilityWarnings(synchronousCommit: string | undefined): string[] {
  if (synchronousCommit !== 'off' && synchronousCommit !== 'local') return [];
  return [
    `PostgreSQL runs with synchronous_commit = ${synchronousCommit}: a server crash${synchronousCommit === 'local' ? ' or a failover' : ''} may lose writes already reported done (logins, logouts, changes); keys are still written durably`,
  ];
}

/**
 * COMMIT of a transaction that an error already aborted answers "ROLLBACK", not an error: a
 * `work` that caught an error would otherwise be reported as committed when nothing was.
 */
async function commit(client: pg.PoolClient): Promise<void> {
  const result = await client.query('COMMIT');
  if (result.command !== 'COMMIT') {
    throw new CapsuleError('INTERNAL', 'the transaction on PostgreSQL was rolled back at COMMIT: an error inside it was caught and not passed on');
  }
}
