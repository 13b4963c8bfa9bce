import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { CapsuleError } from '../../errors.js';

/**
 * The SQLite driver for this Node.js. better-sqlite3 12 is a node::ObjectWrap addon, and Node 24
 * aborts the process when the garbage collector finalises one of its statements outside a
 * JavaScript context (`RemoveEnvironmentCleanupHook: Assertion failed: (env) != nullptr`).
 * better-sqlite3 13 is built on Node-API and does not, but needs Node 22. Both are installed
 * (13 as `better-sqlite3-node-api`, with prebuilt binaries) until Node 20 support ends. 13 is an
 * optional dependency: npm skips it on Node 20 without the EBADENGINE warning a required one gives,
 * so a node_modules installed on Node 20 lacks it on a newer Node.js until `npm ci` runs there.
 */
export function loadSqliteDriver(nodeVersion: string, load: (name: string) => unknown): typeof BetterSqlite3 {
  if (Number(nodeVersion.split('.')[0]) < 22) return load('better-sqlite3') as typeof BetterSqlite3;
  try {
    return load('better-sqlite3-node-api') as typeof BetterSqlite3;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    throw new CapsuleError(
      'REPOSITORY_UNAVAILABLE',
      `Node.js ${nodeVersion} needs better-sqlite3 13 (the optional dependency better-sqlite3-node-api), which is not installed: these node_modules were installed on Node.js 20; run npm ci again on this Node.js`,
      { cause: error },
    );
  }
}

export const SqliteDatabase: typeof BetterSqlite3 = loadSqliteDriver(process.versions.node, createRequire(import.meta.url));
export type SqliteConnection = BetterSqlite3.Database;
