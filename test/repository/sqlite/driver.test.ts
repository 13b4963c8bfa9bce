import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCapsuleError } from '../../../src/errors.js';
import { loadSqliteDriver } from '../../../src/repository/sqlite/driver.js';

function notInstalled(name: string): never {
  throw Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' });
}

test('Node.js 20 loads better-sqlite3 12; 22 and later load 13', () => {
  const loaded: string[] = [];
  const load = (name: string) => (loaded.push(name), function Database() {});
  loadSqliteDriver('20.20.2', load);
  loadSqliteDriver('22.1.0', load);
  loadSqliteDriver('24.0.0', load);
  assert.deepEqual(loaded, ['better-sqlite3', 'better-sqlite3-node-api', 'better-sqlite3-node-api']);
});

test('on Node.js 22, node_modules installed on Node.js 20 (without the optional better-sqlite3 13) says to run npm ci again', () => {
  assert.throws(
    () => loadSqliteDriver('22.1.0', notInstalled),
    (error) =>
      isCapsuleError(error) &&
      error.message === 'Node.js 22.1.0 needs better-sqlite3 13 (the optional dependency better-sqlite3-node-api), which is not installed: these node_modules were installed on Node.js 20; run npm ci again on this Node.js',
  );
});
