// Session rows written straight into a PostgreSQL farm store's `capsule_sessions`, many at once
// (one INSERT … SELECT over generate_series): the bench's way to hold 100,000 revoked ids or a
// million sessions without a million sign-ins. The columns are read from the table the store
// made, so that a time kept as milliseconds or as a timestamp both work.
import type { PostgresCluster } from '../test/helpers/postgres-cluster.js';

export const SESSIONS_TABLE = 'capsule_sessions';

export interface SessionRows {
  /** Rows numbered 1..count. */
  readonly count: number;
  /** SQL of the row's user id (`i` is the row's number). */
  readonly userId: string;
  /** Ended (revoked) rows, or live ones. */
  readonly ended: boolean;
  /** A prefix that keeps ids of different batches apart. */
  readonly seed: string;
  readonly nowMs: number;
}

const TIME_TYPES = new Set(['timestamp with time zone', 'timestamp without time zone']);
const NUMBER_TYPES = new Set(['bigint', 'integer', 'numeric', 'double precision', 'real', 'smallint']);

/** A value in milliseconds (SQL) as the column keeps it. */
function time(type: string, milliseconds: string): string {
  if (TIME_TYPES.has(type)) return `to_timestamp((${milliseconds})::double precision / 1000)`;
  if (NUMBER_TYPES.has(type)) return `(${milliseconds})`;
  throw new Error(`${SESSIONS_TABLE}: a time column of type ${type}`);
}

/** Inserts `rows.count` sessions; returns how long it took (s). */
export async function insertSessionRows(cluster: PostgresCluster, database: string, rows: SessionRows): Promise<number> {
  const columns = await cluster.sql<{ column_name: string; data_type: string; is_nullable: string; column_default: string | null }>(
    database,
    'SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position',
    [SESSIONS_TABLE],
  );
  if (columns.length === 0) throw new Error(`no table ${SESSIONS_TABLE} in ${database}: the store did not make it`);
  const now = String(rows.nowMs);
  // 22 base64url characters (16 bytes) from an md5 of the seed and the row's number.
  const id = `left(translate(encode(decode(md5('${rows.seed}' || i::text), 'hex'), 'base64'), '+/=', '-_'), 22)`;
  const values = (name: string, type: string): string | undefined => {
    switch (name) {
      case 'id':
        return id;
      case 'user_id':
        return rows.userId;
      case 'created_at':
      case 'last_seen_at':
        return time(type, `${now} - (i % 36000) * 1000 - 1000`);
      case 'expires_at':
        return time(type, `${now} + 12 * 3600 * 1000`);
      case 'ended_at':
        return rows.ended ? time(type, now) : 'NULL';
      case 'end_reason':
        return rows.ended ? "'revoked'" : 'NULL';
      case 'ended_by':
        return rows.ended ? "'bench'" : 'NULL';
      case 'generation':
        return '0';
      case 'method':
        return "'password'";
      case 'provider':
        return 'NULL';
      case 'client_address':
        return "'127.0.0.1'";
      case 'user_agent':
        return "'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'";
      case 'instance':
        return "'bench'";
      default:
        return undefined;
    }
  };
  const names: string[] = [];
  const expressions: string[] = [];
  for (const column of columns) {
    const expression = values(column.column_name, column.data_type);
    if (expression === undefined) {
      if (column.is_nullable === 'NO' && column.column_default === null) throw new Error(`${SESSIONS_TABLE}.${column.column_name} (${column.data_type}, NOT NULL): the bench does not know what to put there`);
      continue;
    }
    names.push(column.column_name);
    expressions.push(expression);
  }
  const started = process.hrtime.bigint();
  await cluster.sql(database, `INSERT INTO ${SESSIONS_TABLE} (${names.join(', ')}) SELECT ${expressions.join(', ')} FROM generate_series(1, ${rows.count}) AS i`);
  await cluster.sql(database, `ANALYZE ${SESSIONS_TABLE}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** The table exists in `database` (the store makes it when it is first used). */
export async function sessionsTableExists(cluster: PostgresCluster, database: string): Promise<boolean> {
  const rows = await cluster.sql<{ exists: string | null }>(database, 'SELECT to_regclass($1)::text AS exists', [SESSIONS_TABLE]);
  return rows[0]?.exists != null;
}
