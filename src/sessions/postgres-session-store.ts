import pg from 'pg';
import type { Clock } from '../clock.js';
import { CapsuleError } from '../errors.js';
import { describeLocation, parsePostgresUrl, passwordFor, tlsOptionsOf, tlsRefusalOf } from '../repository/index.js';
import { isSessionId } from './session-id.js';
import { boundedUserAgent, decodeRevoked, encodeRevoked, newestFirst, REMEMBERED_BY, rememberable } from './session-record.js';
import type { RevocationListener, RevokedSession, SessionEndReason, SessionRecord, SessionStore } from './types.js';

export interface PostgresSessionStoreOptions {
  /** The farm store's URL (`capsule.farm.store`): the sessions live in the same database. */
  readonly url: string;
  readonly password?: string;
  readonly clock: Clock;
  readonly env?: NodeJS.ProcessEnv;
  readonly poolSize?: number;
  readonly connectTimeoutMs?: number;
  readonly queryTimeoutMs?: number;
  readonly applicationName?: string;
  /** The LISTEN connection's back-off after a loss: `initialMs` doubling up to `maxMs` (default 100 ms to 5 s). */
  readonly reconnect?: { readonly initialMs: number; readonly maxMs: number };
  /** Waits out a back-off delay before the LISTEN connection is tried again (default a timer; a test holds it). */
  readonly waitToReconnect?: (delayMs: number) => Promise<void>;
}

const timerWait = (delayMs: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, delayMs).unref();
  });

export const REVOCATION_CHANNEL = 'capsule_sessions_ended';
/**
 * SQLSTATE classes of a store that is away or busy: connection exceptions (08), a failed sign-in
 * to it (28), insufficient resources (53), shutdowns and restarts (57), system errors (58), and
 * a transaction to run again (40). Anything else the server answered is an error to fix.
 */
const STORE_AWAY = /^(08|28|40|53|57|58)/;

/** The SQLSTATE of an error the server answered with; null for a network failure (ECONNREFUSED, a timeout). */
const sqlStateOf = (error: unknown): string | null => (error instanceof pg.DatabaseError && typeof error.code === 'string' ? error.code : null);

// A NOTIFY payload holds at most 8000 bytes; an entry is about 37.
const NOTIFY_BATCH = 150;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS capsule_sessions (
    id text COLLATE "C" PRIMARY KEY,
    user_id text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    last_seen_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    ended_at bigint,
    end_reason text,
    ended_by text,
    generation bigint NOT NULL,
    method text NOT NULL,
    provider text,
    client_address text NOT NULL,
    user_agent text NOT NULL,
    instance text NOT NULL
  );
  CREATE INDEX IF NOT EXISTS capsule_sessions_user ON capsule_sessions (user_id, created_at);
  CREATE INDEX IF NOT EXISTS capsule_sessions_expiry ON capsule_sessions (expires_at);
  CREATE INDEX IF NOT EXISTS capsule_sessions_ended ON capsule_sessions (expires_at) WHERE ended_at IS NOT NULL;
`;
/** "CAPS" and "SESS": the schema's advisory lock. */
const SCHEMA_LOCK = [0x43415053, 0x53455353] as const;
/** "SESU": the namespace of the per-user lock that sign-ins of one user take in turn (the limit). */
const USER_LOCK = 0x53455355;

const COLUMNS = 'id, user_id, created_at, last_seen_at, expires_at, ended_at, end_reason, ended_by, generation, method, provider, client_address, user_agent, instance';

interface SessionRow {
  id: string;
  user_id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ended_at: string | null;
  end_reason: string | null;
  ended_by: string | null;
  generation: string;
  method: string;
  provider: string | null;
  client_address: string;
  user_agent: string;
  instance: string;
}

function recordOf(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    createdAtMs: Number(row.created_at),
    lastSeenAtMs: Number(row.last_seen_at),
    expiresAtMs: Number(row.expires_at),
    endedAtMs: row.ended_at === null ? null : Number(row.ended_at),
    endReason: row.end_reason as SessionEndReason | null,
    endedBy: row.ended_by,
    generation: Number(row.generation),
    method: row.method as SessionRecord['method'],
    provider: row.provider,
    clientAddress: row.client_address,
    userAgent: row.user_agent,
    instance: row.instance,
  };
}

const revokedOf = (row: { id: string; expires_at: string }): RevokedSession => ({ id: row.id, expiresAtMs: Number(row.expires_at) });

/**
 * Sessions in the farm store's PostgreSQL database: table `capsule_sessions`, created on first use.
 * An end and its NOTIFY commit together, so a member hears of every end that committed; each
 * subscription holds one LISTEN connection of its own, reconnected with back-off. Every failure to
 * reach the database is FARM_STORE_UNAVAILABLE, naming the place and never the password.
 */
export function createPostgresSessionStore(options: PostgresSessionStoreOptions): SessionStore {
  const env = options.env ?? process.env;
  const location = parsePostgresUrl(options.url, env);
  const where = describeLocation(location);
  const { clock } = options;
  const connection = {
    host: location.host,
    port: location.port,
    database: location.database,
    user: location.user,
    // Asked for on each new connection; never logged.
    password: async () => location.password ?? options.password ?? passwordFor(location, env) ?? 'capsule-no-password-given',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 2000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    query_timeout: options.queryTimeoutMs ?? 5000,
    application_name: options.applicationName ?? 'capsule-sessions',
    ssl: tlsOptionsOf(location.params),
  };
  const pool = new pg.Pool({ ...connection, max: options.poolSize ?? 5, idleTimeoutMillis: 30_000 });
  // A connection the server drops emits 'error'; unheard, it would end the process.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const backoff = options.reconnect ?? { initialMs: 100, maxMs: 5000 };
  const waitToReconnect = options.waitToReconnect ?? timerWait;

  const reasonOf = (error: unknown) => tlsRefusalOf(error) ?? (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ');
  function unavailable(error: unknown): CapsuleError {
    if (error instanceof CapsuleError) return error;
    const sqlState = sqlStateOf(error);
    if (sqlState !== null && !STORE_AWAY.test(sqlState)) {
      // The server answered and refused (a missing grant, a missing table): an error to fix, not a store that is away.
      // PostgreSQL's message names the object, never a password.
      return new CapsuleError('INTERNAL', `the session store on PostgreSQL (${where}) refused the statement (SQLSTATE ${sqlState}): ${reasonOf(error)}`, { cause: error });
    }
    return new CapsuleError('FARM_STORE_UNAVAILABLE', `the session store on PostgreSQL (${where}) cannot be reached: ${reasonOf(error)}`, { cause: error });
  }

  let schema: Promise<void> | undefined;
  function ensureSchema(): Promise<void> {
    schema ??= inTransactionOnce(async (client) => {
      // Looked for first: a user that may only read and write the table needs no CREATE right.
      const { rows } = await client.query<{ found: string | null }>("SELECT to_regclass('capsule_sessions')::text AS found");
      if (rows[0]?.found != null) return;
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...SCHEMA_LOCK]);
      await client.query(SCHEMA);
    }).catch((error: unknown) => {
      schema = undefined; // tried again on the next call
      throw error;
    });
    return schema;
  }

  async function inTransactionOnce<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
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

  /** Runs `attempt` once the table exists; a table missing all the same (dropped) is created again, once. */
  async function withTable<T>(attempt: () => Promise<T>): Promise<T> {
    await ensureSchema();
    try {
      return await attempt();
    } catch (error) {
      if ((error as { cause?: { code?: unknown } }).cause?.code !== '42P01') throw error;
      schema = undefined;
      await ensureSchema();
      return attempt();
    }
  }

  const inTransaction = <T>(work: (client: pg.PoolClient) => Promise<T>) => withTable(() => inTransactionOnce(work));
  const query = <R extends pg.QueryResultRow>(text: string, values: unknown[]) =>
    withTable(async () => {
      try {
        return (await pool.query<R>(text, values)).rows;
      } catch (error) {
        throw unavailable(error);
      }
    });

  async function notify(client: pg.PoolClient, ended: readonly RevokedSession[]): Promise<void> {
    for (let i = 0; i < ended.length; i += NOTIFY_BATCH) {
      await client.query('SELECT pg_notify($1, $2)', [REVOCATION_CHANNEL, encodeRevoked(ended.slice(i, i + NOTIFY_BATCH)).join(',')]);
    }
  }

  async function endIn(client: pg.PoolClient, ids: readonly string[], reason: SessionEndReason, endedBy: string, nowMs: number, holdUntilMs = 0): Promise<RevokedSession[]> {
    if (ids.length === 0) return [];
    // A row ended at once by another member is locked by its UPDATE; this one then sees it ended and leaves it out.
    const { rows } = await client.query<{ id: string; expires_at: string }>(
      'UPDATE capsule_sessions SET ended_at = $2, end_reason = $3, ended_by = $4, expires_at = GREATEST(expires_at, $5) WHERE id = ANY($1) AND ended_at IS NULL AND expires_at > $2 RETURNING id, expires_at',
      [ids, nowMs, reason, endedBy, holdUntilMs],
    );
    const ended = rows.map(revokedOf);
    await notify(client, ended);
    return ended;
  }

  const subscriptions = new Set<() => void>();

  function subscribe(listener: RevocationListener): () => void {
    let stopped = false;
    let client: pg.Client | undefined;
    let delayMs = backoff.initialMs;
    let down = false;

    const lose = (reason: string) => {
      if (down || stopped) return;
      down = true;
      listener.lost(reason);
    };
    const scheduleConnect = () => {
      if (stopped) return;
      const waited = waitToReconnect(delayMs);
      delayMs = Math.min(delayMs * 2, backoff.maxMs);
      void waited.then(connect, connect);
    };
    async function connect(): Promise<void> {
      if (stopped) return;
      const current = new pg.Client(connection);
      client = current;
      let dropped = false;
      const drop = (reason: string) => {
        if (dropped || client !== current) return;
        dropped = true;
        client = undefined;
        void current.end().catch(() => undefined);
        lose(reason);
        scheduleConnect();
      };
      current.on('error', (error) => drop(`the LISTEN connection to PostgreSQL (${where}) was lost: ${reasonOf(error)}`));
      current.on('end', () => drop(`the LISTEN connection to PostgreSQL (${where}) ended`));
      current.on('notification', (message) => {
        if (message.channel !== REVOCATION_CHANNEL || stopped) return;
        const sessions = decodeRevoked((message.payload ?? '').split(','));
        if (sessions.length > 0) listener.revoked(sessions);
      });
      try {
        await current.connect();
        await current.query(`LISTEN ${REVOCATION_CHANNEL}`);
      } catch (error) {
        drop(unavailable(error).message);
        return;
      }
      if (stopped || client !== current) return;
      delayMs = backoff.initialMs;
      down = false;
      // Listening before re-reading: an end that commits meanwhile is heard, or read, or both.
      listener.resync();
    }

    const stop = () => {
      stopped = true;
      const current = client;
      client = undefined;
      void current?.end().catch(() => undefined);
      subscriptions.delete(stop);
    };
    subscriptions.add(stop);
    void connect();
    return stop;
  }

  return {
    backend: 'postgres',
    location: location.display,
    create(record, maxPerUser) {
      const stored = { ...record, userAgent: boundedUserAgent(record.userAgent) };
      return inTransaction(async (client) => {
        // Sign-ins of one user follow each other (every member takes the same lock), so the limit holds for the farm.
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [USER_LOCK, stored.userId]);
        await client.query(
          `INSERT INTO capsule_sessions (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
          [stored.id, stored.userId, stored.createdAtMs, stored.lastSeenAtMs, stored.expiresAtMs, stored.endedAtMs, stored.endReason, stored.endedBy, stored.generation, stored.method, stored.provider, stored.clientAddress, stored.userAgent, stored.instance],
        );
        if (maxPerUser <= 0) return { ended: [] };
        const { rows } = await client.query<SessionRow>(`SELECT ${COLUMNS} FROM capsule_sessions WHERE user_id = $1 AND ended_at IS NULL AND expires_at > $2`, [stored.userId, stored.createdAtMs]);
        // The new session is never the one ended, whatever another member's clock wrote.
        const beyond = rows.map(recordOf).filter((session) => session.id !== stored.id).sort(newestFirst).slice(maxPerUser - 1);
        return { ended: await endIn(client, beyond.map((session) => session.id), 'limit', 'system', stored.createdAtMs) };
      });
    },
    async get(id) {
      if (!isSessionId(id)) return null;
      const [row] = await query<SessionRow>(`SELECT ${COLUMNS} FROM capsule_sessions WHERE id = $1 AND expires_at > $2`, [id, clock.now()]);
      return row === undefined ? null : recordOf(row);
    },
    async listByUser(userId, nowMs) {
      const rows = await query<SessionRow>(`SELECT ${COLUMNS} FROM capsule_sessions WHERE user_id = $1 AND expires_at > $2`, [userId, nowMs]);
      return rows.map(recordOf).sort(newestFirst);
    },
    async touch(id, lastSeenAtMs) {
      await query('UPDATE capsule_sessions SET last_seen_at = GREATEST(last_seen_at, $2) WHERE id = $1', [id, lastSeenAtMs]);
    },
    async extend(id, expiresAtMs) {
      await query('UPDATE capsule_sessions SET expires_at = GREATEST(expires_at, $2) WHERE id = $1 AND ended_at IS NULL', [id, expiresAtMs]);
    },
    end(ids, reason, endedBy, nowMs, holdUntilMs) {
      const valid = [...new Set(ids.filter(isSessionId))];
      if (valid.length === 0) return Promise.resolve([]);
      return inTransaction((client) => endIn(client, valid, reason, endedBy, nowMs, holdUntilMs));
    },
    remember(sessions, nowMs) {
      const told = rememberable(sessions, nowMs);
      if (told.length === 0) return Promise.resolve([]);
      return inTransaction(async (client) => {
        // An id unknown here becomes a row that only marks it ended (no user, nothing to list); a
        // live row is ended; a row ended already keeps its end and is only held longer, if need be.
        const { rows } = await client.query<{ id: string; expires_at: string }>(
          `INSERT INTO capsule_sessions (${COLUMNS})
             SELECT told.id, '', $3, $3, told.expires_at, $3, 'revoked', $4, 0, 'password', NULL, '', '', ''
             FROM unnest($1::text[], $2::bigint[]) AS told(id, expires_at)
           ON CONFLICT (id) DO UPDATE SET
             ended_at = COALESCE(capsule_sessions.ended_at, EXCLUDED.ended_at),
             end_reason = COALESCE(capsule_sessions.end_reason, EXCLUDED.end_reason),
             ended_by = COALESCE(capsule_sessions.ended_by, EXCLUDED.ended_by),
             expires_at = GREATEST(capsule_sessions.expires_at, EXCLUDED.expires_at)
           WHERE capsule_sessions.ended_at IS NULL OR capsule_sessions.expires_at < EXCLUDED.expires_at
           RETURNING id, expires_at`,
          [told.map((session) => session.id), told.map((session) => session.expiresAtMs), nowMs, REMEMBERED_BY],
        );
        const recorded = rows.map(revokedOf);
        await notify(client, recorded);
        return recorded;
      });
    },
    async listRevoked(nowMs) {
      const rows = await query<{ id: string; expires_at: string }>('SELECT id, expires_at FROM capsule_sessions WHERE ended_at IS NOT NULL AND expires_at > $1', [nowMs]);
      return rows.map(revokedOf);
    },
    subscribe,
    async countLive(nowMs) {
      const rows = await query<{ n: string }>('SELECT count(*) AS n FROM capsule_sessions WHERE ended_at IS NULL AND expires_at > $1', [nowMs]);
      return Number(rows[0]?.n ?? 0);
    },
    async removeExpired(nowMs) {
      const rows = await query<{ n: string }>('WITH gone AS (DELETE FROM capsule_sessions WHERE expires_at <= $1 RETURNING 1) SELECT count(*) AS n FROM gone', [nowMs]);
      return Number(rows[0]?.n ?? 0);
    },
    async ping() {
      await query('SELECT 1', []);
    },
    async close() {
      for (const stop of [...subscriptions]) stop();
      await pool.end();
    },
  };
}

