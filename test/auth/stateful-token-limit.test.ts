import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStatefulTokenStore, TOKEN_TYPE } from '../../src/auth/stateful-tokens.js';
import { repositoryBackends } from '../helpers/postgres.js';

const LIMIT = 50;
const HOUR = 3600_000;
const alice = { id: 'alice', path: '/home/users/a/alice' };

// The store keeps at most LIMIT tokens per user and removes the oldest when a login makes one
// more. The token just made used to be sorted in with the others: on a tie in its creation time
// (many logins in one millisecond) it could be the one removed, so a login answered 200 left no
// token. With 300 logins at one instant that happened in all but about 0.7 % of runs; now never.
for (const backend of repositoryBackends()) {
  describe(`the limit of stateful tokens per user (${backend.name})`, () => {
    it(`never removes the token just issued, even when ${LIMIT} others were made in the same millisecond`, async () => {
      const repo = await backend.open();
      const store = createStatefulTokenStore({ repo, maxPerUser: () => LIMIT });
      const now = Date.parse('2026-12-07T00:00:00Z'); // a fixed clock: every token has this createdAt
      let last = '';
      for (let i = 0; i < 300; i++) {
        const { token } = await store.create(alice, now, HOUR);
        const validation = await store.validate(token, now);
        assert.ok(validation.ok, `login ${i}: the token answered is stored (${validation.ok ? '' : validation.reason})`);
        last = token;
      }
      assert.equal((await repo.findByType(TOKEN_TYPE, 1000)).length, LIMIT);
      assert.ok((await store.validate(last, now)).ok);
    });

    it('never removes the token just issued when the others were made by a clock ahead of this one', async () => {
      const repo = await backend.open();
      const store = createStatefulTokenStore({ repo, maxPerUser: () => LIMIT });
      const now = Date.parse('2026-12-07T00:00:00Z');
      const ahead: string[] = [];
      for (let i = 0; i < LIMIT; i++) ahead.push((await store.create(alice, now + HOUR, 2 * HOUR)).token);
      const mine = await store.create(alice, now, HOUR);
      assert.ok((await store.validate(mine.token, now)).ok, 'the login answered on the author behind keeps its token');
      const kept = await Promise.all(ahead.map(async (token) => (await store.validate(token, now)).ok));
      assert.equal(kept.filter((ok) => !ok).length, 1, 'one of the others made room');
      assert.equal((await repo.findByType(TOKEN_TYPE, 1000)).length, LIMIT);
    });
  });
}
