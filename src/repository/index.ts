export { openSqliteRepository } from './sqlite/sqlite-repository.js';
export type { SqliteRepositoryOptions } from './sqlite/sqlite-repository.js';
export { backupSqliteDatabase } from './sqlite/online-backup.js';
export { openPostgresRepository } from './postgres/postgres-repository.js';
export type { PostgresRepositoryOptions } from './postgres/postgres-repository.js';
export { describeLocation, isPostgresUrl, parsePostgresUrl, passwordFor, sameLocation } from './postgres/location.js';
export { tlsOptionsOf, tlsRefusalOf } from './postgres/tls.js';
export type { PostgresLocation } from './postgres/location.js';
export { copyRepository, isEmptyRepository } from './copy.js';
export type { CopyResult } from './copy.js';
export { checkPath, joinPath, nameOf, parentOf } from './paths.js';
export { watchCounters } from './counter-watch.js';
export type { CounterWatch, CounterWatchOptions } from './counter-watch.js';
export { COUNTED_TREES, INDEXED_PROPERTIES, MAX_TRANSACTION_ATTEMPTS, treeCounter, treesChangedAt } from './types.js';
export type {
  AddNodeOptions,
  NodeProperties,
  Properties,
  PropertyType,
  PropertyValue,
  RangeQuery,
  Repository,
  RepositoryInfo,
  RepositoryNode,
  RepositoryBackend,
  RepositoryReader,
  StoredNode,
  RepositoryWriter,
} from './types.js';
