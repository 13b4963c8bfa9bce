import pg from 'pg';
import type { Clock } from '../clock.js';
import { CapsuleError } from '../errors.js';
import { describeLocation, parsePostgresUrl, passwordFor, tlsOptionsOf, tlsRefusalOf } from '../repository/index.js';
import { liveRecord, type FarmRecord, type FarmRecordUpdate, type FarmStore } from './types.js';

export interface PostgresFarmStoreOptions {
  /** `postgres://user[:password]@host:port/database[?sslmode=…]`, as for the repository. */
  readonly url: string;
  /** The password when the URL has none (the resolved `password` property); else PGPASSWORD or ~/.pgpass. */
  readonly password?: string;
  readonly clock: Clock;
  readonly env?: NodeJS.ProcessEnv;
  /** Connections in the pool (default 5): one short statement per login. */
  readonly poolSize?: number;
  /** How long a new connection may take, in ms (default 2000): a login waits for it. */
  readonly connectTimeoutMs?: number;
  /** How long a statement may go unanswered, in ms (default 5000). */
  readonly queryTimeoutMs?: number;
  readonly applicationName?: string;
}

// Created by the first member to use the database, under an advisory lock so that two starting
// at once create it once. COLLATE "C": keys compare byte by byte, whatever the locale.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS capsule_farm_records (
    space text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    value jsonb NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (space, key)
  );
  CREATE INDEX IF NOT EXISTS capsule_farm_records_expiry ON capsule_farm_records (expires_at);
`;
/** "CAPS" and "FARM": the advisory lock taken while the schema is created. */
const SCHEMA_LOCK = [0x43415053, 0x4641524d] as const;

interface RecordRow {
  value: FarmRecord['value'];
  expires_at: string;
}

const rowRecord = (row: RecordRow | undefined): FarmRecord | null =>
  row === undefined ? null : { value: row.value, expiresAtMs: Number(row.expires_at) };

/**
 * The farm store on a PostgreSQL database the members share: one table, created on first use.
 * An update locks its row (`SELECT … FOR UPDATE` after an insert that makes sure there is one), so
 * members updating one record at once follow each other. Every failure to reach the database is
 * FARM_STORE_UNAVAILABLE; the pool reconnects by itself on the next call.
 */
export function createPostgresFarmStore(options: PostgresFarmStoreOptions): FarmStore {
  const env = options.env ?? process.env;
  const location = parsePostgresUrl(options.url, env);
  const where = describeLocation(location);
  const { clock } = options;
  const pool = new pg.Pool({
    host: location.host,
    port: location.port,
    database: location.database,
    user: location.user,
    // Asked for on each new connection; never logged.
    password: async () => location.password ?? options.password ?? passwordFor(location, env) ?? 'capsule-no-password-given',
    max: options.poolSize ?? 5,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 2000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    query_timeout: options.queryTimeoutMs ?? 5000,
    application_name: options.applicationName ?? 'capsule-farm-store',
    ssl: tlsOptionsOf(location.params),
  });
  // A connection the server drops emits 'error'; unheard, it would end the process.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));

  function unavailable(error: unknown): CapsuleError {
    if (error instanceof CapsuleError) return error;
    const reason = tlsRefusalOf(error) ?? (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ');
    return new CapsuleError('FARM_STORE_UNAVAILABLE', `the farm store on PostgreSQL (${where}) cannot be reached: ${reason}`, { cause: error });
  }

  let schema: Promise<void> | undefined;
  async function ensureSchema(): Promise<void> {
    schema ??= (async () => {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        // Looked for first: a user that may only read and write the table (made by an owner) needs no CREATE right.
        const { rows } = await client.query<{ found: string | null }>("SELECT to_regclass('capsule_farm_records')::text AS found");
        if (rows[0]?.found == null) {
          await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...SCHEMA_LOCK]);
          await client.query(SCHEMA);
        }
        await client.query('COMMIT');
      } catch (error) {
        broken = true;
        throw error;
      } finally {
        client.release(broken);
      }
    })().catch((error: unknown) => {
      schema = undefined; // tried again on the next call
      throw error;
    });
    return schema;
  }

  /** Runs `work` on one connection inside a transaction; a failed one is destroyed, not pooled. */
  async function inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withTable(() => transactionOnce(work));
  }

  /**
   * Runs `attempt` once the table exists; a table missing all the same (dropped, or lost in a crash
   * of a server that does not wait for its commits) is created again, once.
   */
  async function withTable<T>(attempt: () => Promise<T>): Promise<T> {
    try {
      await ensureSchema().catch((error: unknown) => {
        throw unavailable(error);
      });
      return await attempt();
    } catch (error) {
      if ((error as { cause?: { code?: unknown } }).cause?.code !== '42P01') throw error;
      schema = undefined;
      try {
        await ensureSchema();
      } catch (again) {
        throw unavailable(again);
      }
      return attempt();
    }
  }

  async function transactionOnce<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    try {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        broken = true;
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release(broken);
      }
    } catch (error) {
      throw unavailable(error);
    }
  }

  function query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    return withTable(async () => {
      try {
        return (await pool.query<R>(text, values)).rows;
      } catch (error) {
        throw unavailable(error);
      }
    });
  }

  return {
    backend: 'postgres',
    location: location.display,
    async get(space, key) {
      const [row] = await query<RecordRow>('SELECT value, expires_at FROM capsule_farm_records WHERE space = $1 AND key = $2', [space, key]);
      return liveRecord(rowRecord(row), clock.now());
    },
    update(space, key, change) {
      return inTransaction(async (client): Promise<FarmRecordUpdate> => {
        // A placeholder that has already expired, so that there is a row to lock.
        await client.query("INSERT INTO capsule_farm_records (space, key, value, expires_at) VALUES ($1, $2, '{}', 0) ON CONFLICT DO NOTHING", [space, key]);
        const { rows } = await client.query<RecordRow>('SELECT value, expires_at FROM capsule_farm_records WHERE space = $1 AND key = $2 FOR UPDATE', [space, key]);
        const nowMs = clock.now();
        const before = liveRecord(rowRecord(rows[0]), nowMs);
        const after = change(before, nowMs);
        if (after === null) {
          await client.query('DELETE FROM capsule_farm_records WHERE space = $1 AND key = $2', [space, key]);
        } else if (after !== before) {
          await client.query('UPDATE capsule_farm_records SET value = $3, expires_at = $4 WHERE space = $1 AND key = $2', [space, key, JSON.stringify(after.value), after.expiresAtMs]);
        }
        return { before, after };
      });
    },
    async delete(space, key) {
      const rows = await query<{ expires_at: string }>('DELETE FROM capsule_farm_records WHERE space = $1 AND key = $2 RETURNING expires_at', [space, key]);
      return rows.some((row) => Number(row.expires_at) > clock.now());
    },
    async removeExpired() {
      const rows = await query<{ n: string }>('WITH gone AS (DELETE FROM capsule_farm_records WHERE expires_at <= $1 RETURNING 1) SELECT count(*) AS n FROM gone', [clock.now()]);
      return Number(rows[0]?.n ?? 0);
    },
    async ping() {
      await query('SELECT 1', []);
    },
    async close() {
      await pool.end();
    },
  };
}
