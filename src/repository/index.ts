export { openSqliteRepository } from './sqlite/sqlite-repository.js';
export type { SqliteRepositoryOptions } from './sqlite/sqlite-repository.js';
export { checkPath, joinPath, nameOf, parentOf } from './paths.js';
export { INDEXED_PROPERTIES } from './types.js';
export type {
  AddNodeOptions,
  Properties,
  PropertyType,
  PropertyValue,
  Repository,
  RepositoryInfo,
  RepositoryNode,
  RepositoryReader,
  RepositoryWriter,
} from './types.js';
