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
  // 3: a user provisioned by an identity provider carries `providerUser` ('<provider>:<user id>',
  // indexed), so its provider's users are listed in id order by a range of the index
  // (src/users/user-manager.ts findUsers), and `providerSubject` ('<provider>:<subject in hex>',
  // indexed), so a SAML logout finds the user of a NameID by one lookup (findExternalUsers). The
  // users written before get them here; a Capsule from before would write such users without
  // them, so it refuses the repository. hex() reads the subject's UTF-8 bytes, a NUL included
  // (replace() cannot match a NUL): the same key as src/users/provider-users.ts writes.
  `
  UPDATE nodes
     SET props = json_set(props, '$.providerUser', json_object('t', 'string', 'v', json_extract(props, '$.externalProvider.v') || ':' || json_extract(props, '$.userId.v')))
   WHERE type = 'capsule:User' AND json_extract(props, '$.externalProvider.t') = 'string' AND json_extract(props, '$.userId.t') = 'string';
  UPDATE nodes
     SET props = json_set(props, '$.providerSubject', json_object('t', 'string', 'v', json_extract(props, '$.externalProvider.v') || ':' || hex(json_extract(props, '$.externalSubject.v'))))
   WHERE type = 'capsule:User' AND json_extract(props, '$.externalProvider.t') = 'string' AND json_extract(props, '$.externalSubject.t') = 'string';
  INSERT OR IGNORE INTO property_index (name, value, node_id)
  SELECT 'providerUser', json_extract(props, '$.providerUser.v'), id FROM nodes
   WHERE type = 'capsule:User' AND json_extract(props, '$.providerUser.t') = 'string';
  INSERT OR IGNORE INTO property_index (name, value, node_id)
  SELECT 'providerSubject', json_extract(props, '$.providerSubject.v'), id FROM nodes
   WHERE type = 'capsule:User' AND json_extract(props, '$.providerSubject.t') = 'string';
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
