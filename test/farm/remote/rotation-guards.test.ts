import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { jsonOf } from '../../helpers/cli.js';
import { adminToken, memberView, runIn, startRemoteFarm, type RemoteFarm } from '../../helpers/remote-farm.js';

// What an HMAC rotation must refuse or drop, on real members over HTTP: `farm add-instance`
// while a rotation is unfinished, and the old key after `farm rotate-hmac --discard-old`.

let farm: RemoteFarm;
let farmDir: string;

async function views() {
  return Promise.all(farm.members.map(async (member) => memberView(member, await adminToken(member, farm.adminPassword))));
}

describe('an HMAC rotation on a farm', () => {
  before(async () => {
    farm = await startRemoteFarm(2);
    farmDir = dirname(farm.members[0]!.home); // `farm init`'s folder: farm.json, admin-password, the homes
  });

  it('farm add-instance refuses while a rotation is unfinished, and changes nothing', async () => {
    const [author] = farm.members;
    const token = await adminToken(author!, farm.adminPassword);
    const staged = await fetch(`${author!.url}/system/farm/hmac/stage`, { method: 'POST', headers: { 'content-type': 'application/json', 'login-token': token }, body: '{}' });
    assert.equal(staged.status, 200);
    const stagedKid = ((await staged.json()) as { staged: string }).staged;
    const manifest = readFileSync(join(farmDir, 'farm.json'), 'utf8');
    const entries = readdirSync(farmDir).sort();
    const before = await views();

    const refused = await runIn(farmDir, ['farm', 'add-instance', '--dir', farmDir]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.match(refused.stderr, new RegExp(`an HMAC rotation is unfinished \\(author has staged ${stagedKid}\\); finish it with 'capsule farm rotate-hmac`));

    assert.equal(readFileSync(join(farmDir, 'farm.json'), 'utf8'), manifest, 'farm.json lists no new member');
    assert.deepEqual(readdirSync(farmDir).sort(), entries, 'no new home');
    const after = await views();
    assert.deepEqual(
      after.map((view) => [view.keys, view.replication.agents.map((agent) => agent.name), view.lock]),
      before.map((view) => [view.keys, view.replication.agents.map((agent) => agent.name), null]),
      'the same keys and agents everywhere, and the lock released',
    );
  });

  it('farm rotate-hmac --discard-old leaves no old key anywhere: a token it signed is refused by every member', async () => {
    const oldTokens = await Promise.all(farm.members.map((member) => adminToken(member, farm.adminPassword)));
    const before = await views();
    const oldKid = before[0]!.keys.hmac.id;
    const retiredBefore = before[0]!.keys.retiredHmac.map((key) => key.id);
    for (const [index, member] of farm.members.entries()) {
      assert.equal((await fetch(`${member.url}/api/session`, { headers: { 'login-token': oldTokens[index]! } })).status, 200);
    }

    const rotated = await farm.cli(['farm', 'rotate-hmac', '--discard-old', '--manifest', 'farm.json', '--json']);
    assert.equal(rotated.code, 0, rotated.stderr);
    const result = jsonOf<{ previous: string; current: string; previousKept: boolean; message: string }>(rotated);
    assert.equal(result.previous, oldKid);
    assert.equal(result.previousKept, false);
    assert.match(result.message, new RegExp(`${oldKid} was dropped: every token it signed is void`));

    for (const [index, member] of farm.members.entries()) {
      const status = await fetch(`${member.url}/api/session`, { headers: { 'login-token': oldTokens[index]! } });
      assert.equal(status.status, 401, `${member.name} refuses a token the old key signed`);
      const view = await memberView(member, await adminToken(member, farm.adminPassword));
      assert.equal(view.keys.hmac.id, result.current);
      assert.deepEqual(view.keys.retiredHmac, [], `${member.name} keeps no retired key`);
      const retiredDir = join(member.home, 'keys', 'retired');
      const files = existsSync(retiredDir) ? readdirSync(retiredDir) : [];
      for (const kid of [oldKid, ...retiredBefore]) assert.ok(!files.some((file) => file.includes(kid)), `${member.name} has no file of ${kid}`);
    }
  });
});
