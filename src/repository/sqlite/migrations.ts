/**
 * Schema migrations, applied in order. `PRAGMA user_version` holds the number applied;
 * `PRAGMA application_id` marks the file as a Capsule repository.
 */
export const CAPSULE_APPLICATION_ID = 0x43415053; // "CAPS"

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    parent TEXT,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    props TEXT NOT NULL,
    created INTEGER NOT NULL,
    modified INTEGER NOT NULL
  );
  CREATE INDEX nodes_parent ON nodes(parent, name);
  CREATE INDEX nodes_type ON nodes(type, id);
  CREATE TABLE property_index (
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    PRIMARY KEY (name, value, node_id)
  ) WITHOUT ROWID;
  CREATE INDEX property_index_node ON property_index(node_id);
  CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 2: group memberships are nodes of their own (src/users/memberships.ts), moved from the groups'
  // `members` lists when services open. Nothing changes in the tables: the version is raised so a
  // Capsule from before refuses the repository instead of reading no members and leaving
  // memberships behind when it removes a user.
  `SELECT 1;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
