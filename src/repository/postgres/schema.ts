import type pg from 'pg';

/**
 * The PostgreSQL schema, applied in order. `capsule_meta` holds the version applied and marks the
 * database as a Capsule repository. Text that is sorted or compared by range uses COLLATE "C", so
 * paths and ids sort as they do in SQLite, byte by byte, whatever the database's locale.
 */
/** A step of the schema: SQL, or work that needs JavaScript (run inside the schema's transaction). */
export type PostgresMigration = string | ((client: Pick<pg.PoolClient, 'query'>) => Promise<void>);

/** Users read and written per statement by a migration that goes through them all. */
const MIGRATION_BATCH = 1000;

/**
 * Migration 3, in JavaScript and in batches, not one UPDATE with `props::jsonb`: PostgreSQL's
 * json and jsonb refuse a stored `\u0000` escape (a NUL a user's subject or any property may hold,
 * which SQLite's JSON keeps), and one such row would abort the migration, after which no version
 * could start on the database. Batches also keep each statement far inside the query timeout at
 * a million users. The keys are `providerUser` '<provider>:<user id>' and `providerSubject`
 * '<provider>:<subject in upper-case hex of its UTF-8>', as src/users/provider-users.ts writes
 * them (its module is above the repository's layer, so they are spelled out here). Each batch
 * is read FOR UPDATE: the rows are rewritten from what was read, so a write another (older,
 * still running) instance commits between the read and the rewrite must wait, not be undone.
 */
async function indexProviderUsers(client: Pick<pg.PoolClient, 'query'>): Promise<void> {
  for (let after = ''; ; ) {
    const { rows } = await client.query<{ id: string; props: string }>(
      "SELECT id, props FROM capsule_nodes WHERE type = 'capsule:User' AND id > $1 ORDER BY id LIMIT $2 FOR UPDATE",
      [after, MIGRATION_BATCH],
    );
    if (rows.length === 0) return;
    const updated: { id: string; props: string }[] = [];
    const indexed: { id: string; name: string; value: string }[] = [];
    for (const row of rows) {
      const stored = JSON.parse(row.props) as Record<string, { t: string; v: unknown } | undefined>;
      const { externalProvider: provider, externalSubject: subject, userId } = stored;
      if (provider?.t !== 'string') continue;
      const added: Record<string, { t: 'string'; v: string }> = {};
      if (userId?.t === 'string') added.providerUser = { t: 'string', v: `${String(provider.v)}:${String(userId.v)}` };
      if (subject?.t === 'string') added.providerSubject = { t: 'string', v: `${String(provider.v)}:${Buffer.from(String(subject.v), 'utf8').toString('hex').toUpperCase()}` };
      if (Object.keys(added).length === 0) continue;
      updated.push({ id: row.id, props: JSON.stringify({ ...stored, ...added }) });
      for (const [name, { v }] of Object.entries(added)) indexed.push({ id: row.id, name, value: v });
    }
    if (updated.length > 0) {
      await client.query('UPDATE capsule_nodes AS n SET props = u.props FROM unnest($1::text[], $2::text[]) AS u(id, props) WHERE n.id = u.id', [
        updated.map((row) => row.id),
        updated.map((row) => row.props),
      ]);
      await client.query(
        'INSERT INTO capsule_property_index (name, value, node_id) SELECT u.name, u.value, u.id FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, name, value) ON CONFLICT DO NOTHING',
        [indexed.map((entry) => entry.id), indexed.map((entry) => entry.name), indexed.map((entry) => entry.value)],
      );
    }
    after = rows.at(-1)!.id;
  }
}

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  `
  CREATE TABLE capsule_nodes (
    id text COLLATE "C" PRIMARY KEY,
    path text COLLATE "C" NOT NULL UNIQUE,
    parent text COLLATE "C",
    name text COLLATE "C" NOT NULL,
    type text COLLATE "C" NOT NULL,
    props text NOT NULL,
    created bigint NOT NULL,
    modified bigint NOT NULL
  );
  CREATE INDEX capsule_nodes_parent ON capsule_nodes (parent, name);
  CREATE INDEX capsule_nodes_type ON capsule_nodes (type, id);
  CREATE TABLE capsule_property_index (
    name text COLLATE "C" NOT NULL,
    value text COLLATE "C" NOT NULL,
    node_id text COLLATE "C" NOT NULL REFERENCES capsule_nodes (id) ON DELETE CASCADE,
    PRIMARY KEY (name, value, node_id)
  );
  CREATE INDEX capsule_property_index_node ON capsule_property_index (node_id);
  CREATE TABLE capsule_counters (
    name text COLLATE "C" PRIMARY KEY,
    value bigint NOT NULL
  );
  `,
  // 2: group memberships are nodes of their own; see src/repository/sqlite/migrations.ts.
  `SELECT 1`,
  // 3: external users' indexed \`providerUser\` and \`providerSubject\`; see src/repository/sqlite/migrations.ts.
  indexProviderUsers,
];

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS.length;

/** The first key of every advisory lock Capsule takes ("CAPS"); the second is hashtext(name). */
export const LOCK_NAMESPACE = 0x43415053;

/** The channel on which a committed counter bump is announced (payload: the counter's name). */
export const COUNTER_CHANNEL = 'capsule_counters';
