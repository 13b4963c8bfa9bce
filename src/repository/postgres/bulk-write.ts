import { checkPath, nameOf, parentOf } from '../paths.js';
import { encodeProperties, indexedValues } from '../properties.js';
import { INDEXED_PROPERTIES, type StoredNode } from '../types.js';

/**
 * Nodes per statement, and property text per statement (content may hold binaries): each
 * statement writes a bounded batch, far inside the query timeout however many nodes are copied.
 */
export const NODES_PER_STATEMENT = 1000;
export const PROPS_CHARS_PER_STATEMENT = 8 * 1024 * 1024;

/** Runs one statement of the open transaction (a name makes it a prepared statement). */
export type RunStatement = (name: string, text: string, values: unknown[]) => Promise<unknown>;

interface Batch {
  readonly ids: string[];
  readonly paths: string[];
  readonly parents: (string | null)[];
  readonly names: string[];
  readonly types: string[];
  readonly props: string[];
  readonly created: number[];
  readonly modified: number[];
  readonly indexNames: string[];
  readonly indexValues: string[];
  readonly indexNodes: string[];
  chars: number;
}

const emptyBatch = (): Batch => ({
  ids: [],
  paths: [],
  parents: [],
  names: [],
  types: [],
  props: [],
  created: [],
  modified: [],
  indexNames: [],
  indexValues: [],
  indexNodes: [],
  chars: 0,
});

/**
 * `putNode` for each node in turn, three statements per batch: the nodes at those paths removed
 * (their index rows go with them, ON DELETE CASCADE), the nodes inserted from arrays (`unnest`),
 * their index rows inserted the same way. Putting one node cost about ten round trips (one per
 * indexed property and more), which made a copy of a large home to PostgreSQL take hours.
 */
export async function putNodesInBatches(run: RunStatement, nodes: readonly StoredNode[]): Promise<void> {
  // Of two nodes at one path the last stays, as when each is put in turn.
  const latest = new Map<string, StoredNode>();
  for (const node of nodes) {
    const path = checkPath(node.path);
    latest.delete(path);
    latest.set(path, node);
  }
  let batch = emptyBatch();
  for (const [path, node] of latest) {
    const props = encodeProperties(node.properties);
    batch.ids.push(node.id);
    batch.paths.push(path);
    batch.parents.push(parentOf(path));
    batch.names.push(nameOf(path));
    batch.types.push(node.type);
    batch.props.push(props);
    batch.created.push(node.created.getTime());
    batch.modified.push(node.modified.getTime());
    for (const [name, value] of Object.entries(node.properties)) {
      if (!INDEXED_PROPERTIES.includes(name)) continue;
      for (const item of new Set(indexedValues(value))) {
        batch.indexNames.push(name);
        batch.indexValues.push(item);
        batch.indexNodes.push(node.id);
      }
    }
    batch.chars += props.length;
    if (batch.ids.length >= NODES_PER_STATEMENT || batch.chars >= PROPS_CHARS_PER_STATEMENT) {
      await write(run, batch);
      batch = emptyBatch();
    }
  }
  if (batch.ids.length > 0) await write(run, batch);
}

async function write(run: RunStatement, batch: Batch): Promise<void> {
  await run('capsule_put_remove', 'DELETE FROM capsule_nodes WHERE path = ANY($1::text[])', [batch.paths]);
  await run(
    'capsule_put_nodes',
    `INSERT INTO capsule_nodes (id, path, parent, name, type, props, created, modified)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[])`,
    [batch.ids, batch.paths, batch.parents, batch.names, batch.types, batch.props, batch.created, batch.modified],
  );
  if (batch.indexNames.length > 0) {
    await run(
      'capsule_put_index',
      'INSERT INTO capsule_property_index (name, value, node_id) SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING',
      [batch.indexNames, batch.indexValues, batch.indexNodes],
    );
  }
}
