/**
 * The PostgreSQL schema, applied in order. `capsule_meta` holds the version applied and marks the
 * database as a Capsule repository. Text that is sorted or compared by range uses COLLATE "C", so
 * paths and ids sort as they do in SQLite, byte by byte, whatever the database's locale.
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
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
  // 3: external users' indexed \`providerUser\`; see src/repository/sqlite/migrations.ts.
  `
  UPDATE capsule_nodes
     SET props = (props::jsonb || jsonb_build_object('providerUser', jsonb_build_object('t', 'string', 'v', (props::jsonb -> 'externalProvider' ->> 'v') || ':' || (props::jsonb -> 'userId' ->> 'v'))))::text
   WHERE type = 'capsule:User' AND props::jsonb -> 'externalProvider' ->> 't' = 'string' AND props::jsonb -> 'userId' ->> 't' = 'string';
  INSERT INTO capsule_property_index (name, value, node_id)
  SELECT 'providerUser', props::jsonb -> 'providerUser' ->> 'v', id FROM capsule_nodes
   WHERE type = 'capsule:User' AND props::jsonb -> 'providerUser' ->> 't' = 'string'
  ON CONFLICT DO NOTHING;
  `,
];

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS.length;

/** The first key of every advisory lock Capsule takes ("CAPS"); the second is hashtext(name). */
export const LOCK_NAMESPACE = 0x43415053;

/** The channel on which a committed counter bump is announced (payload: the counter's name). */
export const COUNTER_CHANNEL = 'capsule_counters';
