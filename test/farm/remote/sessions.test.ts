import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCapsuleError } from '../../../src/errors.js';
import { FARM_FORMAT_V2, listFarmSessions, parseManifestV2, revokeAllFarmSessions, revokeFarmSession, type FarmManifestV2 } from '../../../src/farm/index.js';
import { jsonOf, runCliInProcess } from '../../helpers/cli.js';
import { freePortOn } from '../../helpers/remote-farm.js';
import { SAFARI_ON_IPHONE, startSessionsInstance, type SessionsInstance } from '../../helpers/sessions-instance.js';
import { sessionRegistryDouble } from '../../helpers/sessions-registry-double.js';
import { tempDir } from '../../helpers/temp.js';

const credentials = { user: 'admin', password: 'admin-password' };

function manifestOf(members: ReadonlyArray<{ name: string; role: 'author' | 'publish'; url: string }>): FarmManifestV2 {
  return parseManifestV2(JSON.stringify({ format: FARM_FORMAT_V2, members }), 'farm.json');
}

describe('capsule farm sessions: members without a shared store (each lists the sessions it issued)', () => {
  let author: SessionsInstance;
  let publish: SessionsInstance;
  let manifest: FarmManifestV2;
  const active = (member: SessionsInstance, id: string) => member.sessions.records().find((record) => record.id === id)?.endedAtMs === null;

  before(async () => {
    author = await startSessionsInstance({ name: 'author' });
    publish = await startSessionsInstance({ name: 'publish-1' });
    manifest = manifestOf([
      { name: 'author', role: 'author', url: author.instance.url },
      { name: 'publish-1', role: 'publish', url: publish.instance.url },
    ]);
  });
  after(async () => {
    await author.instance.stop();
    await publish.instance.stop();
  });

  it("merges every member's list, each session naming the member that listed it", async () => {
    const onAuthor = await author.signedInElsewhere('alice');
    const onPublish = await publish.signedInElsewhere('alice', { userAgent: SAFARI_ON_IPHONE });
    await publish.signedInElsewhere('bob');
    const list = await listFarmSessions(manifest, credentials, 'alice');
    assert.deepEqual(
      new Map(list.sessions.map((session) => [session.id, session.listedBy])),
      new Map([
        [onPublish, ['publish-1']],
        [onAuthor, ['author']],
      ]),
    );
    assert.deepEqual(list.members, [
      { member: 'author', count: 1, problem: null, answered: true },
      { member: 'publish-1', count: 1, problem: null, answered: true },
    ]);
  });

  it('revoke is sent to every member and succeeds where one had it; an id no member has is NOT_FOUND, nothing ended', async () => {
    const onPublish = await publish.signedInElsewhere('alice');
    const bobs = await author.signedInElsewhere('bob');
    await assert.rejects(revokeFarmSession(manifest, credentials, 'alice', bobs), (error) => isCapsuleError(error, 'NOT_FOUND'));
    assert.equal(active(author, bobs), true);
    const result = await revokeFarmSession(manifest, credentials, 'alice', onPublish);
    assert.deepEqual(result.endedOn, ['publish-1']);
    assert.equal(active(publish, onPublish), false);
  });

  it('revoke-all ends the live sessions on every member and adds them up; an unknown user is USER_NOT_FOUND', async () => {
    await author.signedInElsewhere('alice');
    await publish.signedInElsewhere('alice');
    const bobs = await publish.signedInElsewhere('bob');
    const result = await revokeAllFarmSessions(manifest, credentials, 'alice');
    assert.ok(result.ended >= 2);
    assert.equal((await listFarmSessions(manifest, credentials, 'alice')).sessions.filter((session) => session.state === 'active').length, 0);
    assert.equal(active(publish, bobs), true);
    await assert.rejects(listFarmSessions(manifest, credentials, 'nobody'), (error) => isCapsuleError(error, 'USER_NOT_FOUND'));
  });

  it('capsule farm sessions list --manifest --json prints the merged list; --help describes each command', async () => {
    const file = join(tempDir(), 'farm.json');
    writeFileSync(file, JSON.stringify(manifest));
    const session = await author.signedInElsewhere('bob');
    const result = await runCliInProcess(['farm', 'sessions', 'list', '--user', 'bob', '--manifest', file, '--json'], { env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' } });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(jsonOf<{ sessions: Array<{ id: string }> }>(result).sessions.some((listed) => listed.id === session));
    for (const command of ['list', 'revoke', 'revoke-all']) {
      const help = await runCliInProcess(['farm', 'sessions', command, '--help']);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /--user <id>/);
      assert.match(help.stdout, /--manifest <file>/);
      assert.match(help.stdout, /--json/);
    }
  });
});

describe('capsule farm sessions: members sharing one store, and a member that does not answer', () => {
  let first: SessionsInstance;
  let second: SessionsInstance;
  let manifest: FarmManifestV2;
  let withDeadMember: FarmManifestV2;

  before(async () => {
    // One registry behind both members: what the farm store's PostgreSQL gives a farm.
    const shared = sessionRegistryDouble();
    first = await startSessionsInstance({ name: 'author', sessions: shared });
    second = await startSessionsInstance({ name: 'publish-1', sessions: shared });
    manifest = manifestOf([
      { name: 'author', role: 'author', url: first.instance.url },
      { name: 'publish-1', role: 'publish', url: second.instance.url },
    ]);
    withDeadMember = manifestOf([...manifest.members, { name: 'publish-2', role: 'publish', url: `http://127.0.0.1:${await freePortOn('127.0.0.1')}` }]);
  });
  after(async () => {
    await first.instance.stop();
    await second.instance.stop();
  });

  it('lists each session once, listed by every member; revoke ends it once', async () => {
    const laptop = await first.signedInElsewhere('alice');
    const list = await listFarmSessions(manifest, credentials, 'alice');
    const listed = list.sessions.filter((session) => session.id === laptop);
    assert.equal(listed.length, 1);
    assert.deepEqual(listed[0]!.listedBy, ['author', 'publish-1']);
    const result = await revokeFarmSession(manifest, credentials, 'alice', laptop);
    assert.equal(result.endedOn.length, 1, 'the first member ends it; to the other it is already ended');
    assert.equal(first.sessions.isRevoked(laptop), true);
  });

  it('names a member that does not answer: a list from the others, a revoke that one of them did; the CLI exits 1 for a list that may be incomplete', async () => {
    const phone = await second.signedInElsewhere('alice', { userAgent: SAFARI_ON_IPHONE });
    const list = await listFarmSessions(withDeadMember, credentials, 'alice');
    assert.ok(list.sessions.some((session) => session.id === phone));
    const dead = list.members.find((member) => member.member === 'publish-2')!;
    assert.equal(dead.answered, false);
    assert.match(dead.problem ?? '', /publish-2 .* does not answer/);
    const revoked = await revokeFarmSession(withDeadMember, credentials, 'alice', phone);
    assert.ok(revoked.endedOn.length >= 1);
    const unknown = revokeFarmSession(withDeadMember, credentials, 'alice', 'AAAAAAAAAAAAAAAAAAAAAA');
    await assert.rejects(unknown, (error) => isCapsuleError(error, 'CHECK_FAILED') && /publish-2/.test(error.message), 'the member that did not answer may have had it');

    const file = join(tempDir(), 'farm.json');
    writeFileSync(file, JSON.stringify(withDeadMember));
    const cli = await runCliInProcess(['farm', 'sessions', 'list', '--user', 'alice', '--manifest', file], { env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' } });
    assert.equal(cli.code, 1);
    assert.match(cli.stdout, /^ID\s+DEVICE/);
    assert.match(cli.stderr, /publish-2/);
    assert.match(cli.stderr, /the list may be incomplete: publish-2 did not answer/);
  });
});
