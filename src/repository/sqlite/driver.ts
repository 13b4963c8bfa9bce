import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * The SQLite driver for this Node.js. better-sqlite3 12 is a node::ObjectWrap addon, and Node 24
 * aborts the process when the garbage collector finalises one of its statements outside a
 * JavaScript context (`RemoveEnvironmentCleanupHook: Assertion failed: (env) != nullptr`).
 * better-sqlite3 13 is built on Node-API and does not, but needs Node 22. Both are installed
 * (13 as `better-sqlite3-node-api`, with prebuilt binaries) until Node 20 support ends.
 */
const require = createRequire(import.meta.url);
const nodeMajor = Number(process.versions.node.split('.')[0]);

export const SqliteDatabase: typeof BetterSqlite3 = require(nodeMajor >= 22 ? 'better-sqlite3-node-api' : 'better-sqlite3') as typeof BetterSqlite3;
export type SqliteConnection = BetterSqlite3.Database;
