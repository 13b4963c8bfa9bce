import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { createAdminKeyStore } from '../../src/auth/index.js';
import { systemClock } from '../../src/clock.js';
import { openServices } from '../../src/instance/index.js';
import { jsonOf, runCliInProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

// `capsule admin keys create|list|revoke` on a home: the key is printed once, on standard output
// alone; the list, the messages and the home's audit log never hold it.

async function newHome(): Promise<string> {
  const home = join(tempDir(), 'home');
  const services = await openServices({ home, create: true, clock: systemClock });
  await services.close();
  return home;
}

async function checkOn(home: string, key: string): Promise<boolean> {
  const services = await openServices({ home, clock: systemClock });
  try {
    return (await createAdminKeyStore({ repo: services.repo, clock: services.clock }).check(key)).ok;
  } finally {
    await services.close();
  }
}

describe('capsule admin keys', () => {
  let home: string;
  before(async () => {
    home = await newHome();
  });

  it('create prints the key once on stdout; list shows name, id and dates, never the key; revoke ends it; audit.log holds no key', async () => {
    const created = await runCliInProcess(['admin', 'keys', 'create', 'alice', '--expires-in', '30', '--home', home]);
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    assert.match(key, /^cap_ak_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.match(created.stderr, /created admin API key alice \(id [0-9a-f]{16}, expires .*\); it is shown this once/);
    assert.ok(!created.stderr.includes(key));
    assert.equal(await checkOn(home, key), true);

    const list = await runCliInProcess(['admin', 'keys', 'list', '--json', '--home', home]);
    const [entry] = jsonOf<Array<Record<string, unknown>>>(list);
    assert.deepEqual(Object.keys(entry!).sort(), ['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name']);
    assert.equal(entry!.id, key.slice(7, 23));
    const table = await runCliInProcess(['admin', 'keys', 'list', '--home', home]);
    assert.match(table.stdout, /^NAME\s+ID\s+CREATED\s+LAST USED\s+EXPIRES\nalice\s+[0-9a-f]{16}\s+\S+\s+\S+\s+\S+\n$/);
    for (const output of [list.stdout, table.stdout]) assert.ok(!output.includes(key.slice(24)));

    const twice = await runCliInProcess(['admin', 'keys', 'create', 'alice', '--home', home]);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /named 'alice'.*exists/);

    const revoked = await runCliInProcess(['admin', 'keys', 'revoke', 'alice', '--home', home]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /revoked admin API key alice/);
    assert.equal(await checkOn(home, key), false);
    const again = await runCliInProcess(['admin', 'keys', 'revoke', 'alice', '--home', home]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /no admin API key named 'alice'/);

    const audit = readFileSync(join(home, 'audit.log'), 'utf8');
    assert.match(audit, /"command":"admin keys create","args":\["alice"\]/);
    assert.match(audit, /"command":"admin keys revoke","args":\["alice"\]/);
    assert.ok(!audit.includes(key.slice(24)), 'the audit log holds no key');
  });

  it('refuses a bad --expires-in and changes nothing', async () => {
    const result = await runCliInProcess(['admin', 'keys', 'create', 'bob', '--expires-in', 'soon', '--home', home]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--expires-in soon: a whole number of days/);
    assert.equal(jsonOf<unknown[]>(await runCliInProcess(['admin', 'keys', 'list', '--json', '--home', home])).length, 0);
  });
});
