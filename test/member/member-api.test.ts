import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { keyId, openBundle } from '../../src/crypto/index.js';
import { newKeyExchange, openSealedKey, sealKey } from '../../src/member/index.js';
import type { SealedKey } from '../../src/member/protocol.js';
import { runCliInProcess } from '../helpers/cli.js';
import { login } from '../helpers/http.js';
import { adminToken, memberView, runIn, startRemoteFarm, waitUntil, type RemoteFarm } from '../helpers/remote-farm.js';

// The admin API a member offers the farm commands: administrators only, audited, keys never in clear.

let farm: RemoteFarm;
let token: string;

async function post(url: string, body: object, headers: Record<string, string> = {}): Promise<{ status: number; json: any; text: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null, text };
}

describe('the farm admin API of a member', () => {
  before(async () => {
    farm = await startRemoteFarm(2);
    token = await adminToken(farm.members[0]!, farm.adminPassword);
  });

  it('shows the instance, its loaded key ids with fingerprints and its users to administrators, and records the call', async () => {
    const [author] = farm.members;
    const view = await memberView(author!, token);
    assert.equal(view.instance, 'author');
    const hmac = readFileSync(join(author!.home, 'keys', 'hmac'));
    assert.equal(view.keys.hmac.id, keyId(hmac));
    assert.equal(view.keys.hmac.fingerprint, createHash('sha256').update(hmac).digest('hex'));
    assert.equal(view.keys.master.fingerprint, createHash('sha256').update(readFileSync(join(author!.home, 'keys', 'master'))).digest('hex'));
    assert.equal(view.users, 1);
    // The line reaches this process through the member's stdout a moment after the answer.
    await waitUntil('the audit line', async () => /"name":"audit".*"event":"farm-member-read".*"by":"admin"/.test(author!.output));
  });

  it('refuses anonymous callers and records the refusal; refuses a POST started by another site', async () => {
    const [author] = farm.members;
    assert.equal((await fetch(`${author!.url}/system/farm/member`)).status, 401);
    assert.equal((await post(`${author!.url}/system/farm/hmac/stage`, {})).status, 401);
    await waitUntil('the refusal in the audit log', async () => /"event":"farm-call-refused".*"status":401/.test(author!.output));
    const crossSite = await post(`${author!.url}/system/farm/hmac/stage`, {}, { 'login-token': token, origin: 'https://evil.example' });
    assert.equal(crossSite.status, 403);
    assert.equal((await memberView(author!, token)).keys.stagedHmac, null, 'nothing was staged');
  });

  it('hands a staged key out sealed with the farm key, never in clear; another member opens and stages it', async () => {
    const [author, publish] = farm.members;
    const staged = await post(`${author!.url}/system/farm/hmac/stage`, {}, { 'login-token': token });
    assert.equal(staged.status, 200, staged.text);
    const farmKey = readFileSync(join(author!.home, 'keys', 'hmac'));
    const stagedKey = readFileSync(join(author!.home, 'keys', 'staged', 'hmac'));
    assert.equal(staged.json.staged, keyId(stagedKey));
    for (const form of [stagedKey.toString('base64'), stagedKey.toString('base64url'), stagedKey.toString('hex')]) {
      assert.ok(!staged.text.includes(form), 'the key is not in the answer in clear');
    }
    const sealed = staged.json.sealed as SealedKey;
    assert.ok(openSealedKey(sealed, (kid) => (kid === keyId(farmKey) ? farmKey : undefined), '').equals(stagedKey), 'the farm key opens it');

    const publishToken = await adminToken(publish!, farm.adminPassword);
    const relayed = await post(`${publish!.url}/system/farm/hmac/stage`, { sealed }, { 'login-token': publishToken });
    assert.equal(relayed.status, 200, relayed.text);
    assert.ok(readFileSync(join(publish!.home, 'keys', 'staged', 'hmac')).equals(stagedKey));
    assert.equal((await memberView(publish!, publishToken)).keys.stagedHmac?.id, staged.json.staged, 'loaded at once');

    const promoted = await post(`${publish!.url}/system/farm/hmac/promote`, { expectedKid: staged.json.staged }, { 'login-token': publishToken });
    assert.equal(promoted.status, 200, promoted.text);
    assert.equal((await memberView(publish!, publishToken)).keys.hmac.id, staged.json.staged);
    await waitUntil('the promotion in the audit log', async () => /"event":"farm-hmac-promoted".*"by":"admin"/.test(publish!.output));
  });

  it('refuses a key sealed with a key outside the farm, and a sealed key tampered with', async () => {
    const [, publish] = farm.members;
    const publishToken = await adminToken(publish!, farm.adminPassword);
    const before = await memberView(publish!, publishToken);
    const foreignKey = randomBytes(32);
    const foreign = await post(`${publish!.url}/system/farm/hmac/stage`, { sealed: sealKey(randomBytes(32), { kid: keyId(foreignKey), key: foreignKey }) }, { 'login-token': publishToken });
    assert.equal(foreign.status, 409, foreign.text);
    assert.match(foreign.json.error.message, /does not hold/);
    const farmKey = readFileSync(join(publish!.home, 'keys', 'hmac'));
    const good = sealKey(randomBytes(32), { kid: keyId(farmKey), key: farmKey });
    const flipped = Buffer.from(good.ciphertext, 'base64url');
    flipped[0]! ^= 1;
    const tampered = await post(`${publish!.url}/system/farm/hmac/stage`, { sealed: { ...good, ciphertext: flipped.toString('base64url') } }, { 'login-token': publishToken });
    assert.equal(tampered.status, 400, tampered.text);
    assert.deepEqual((await memberView(publish!, publishToken)).keys, before.keys, 'nothing changed');
  });

  it('exports the keys only inside a bundle whose passphrase is agreed by X25519 and never sent, to administrators', async () => {
    const [author] = farm.members;
    const exchange = newKeyExchange();
    const body = { publicKey: exchange.publicKey };
    assert.equal((await post(`${author!.url}/system/farm/keys/export`, body)).status, 401, 'anonymous');
    assert.equal((await post(`${author!.url}/system/farm/keys/export`, { publicKey: 'short' }, { 'login-token': token })).status, 400, 'not a public key');
    assert.equal((await post(`${author!.url}/system/farm/keys/export`, { passphrase: randomBytes(32).toString('base64url') }, { 'login-token': token })).status, 400, 'a passphrase is not taken');
    assert.equal((await post(`${author!.url}/system/farm/keys/export`, body, { 'login-token': token, origin: 'https://evil.example' })).status, 403);
    const lowOrder = await post(`${author!.url}/system/farm/keys/export`, { publicKey: Buffer.alloc(32).toString('base64url') }, { 'login-token': token });
    assert.equal(lowOrder.status, 400, 'an all-zero key gives no shared secret');
    assert.match(lowOrder.json.error.message, /not usable for a key exchange/);
    const exported = await post(`${author!.url}/system/farm/keys/export`, body, { 'login-token': token });
    assert.equal(exported.status, 200, exported.text);
    for (const file of ['master', 'hmac']) {
      const key = readFileSync(join(author!.home, 'keys', file));
      for (const form of [key.toString('base64'), key.toString('base64url'), key.toString('hex')]) assert.ok(!exported.text.includes(form), `${file} is not in the answer in clear`);
    }
    const roles = { client: exchange.publicKey, server: exported.json.publicKey };
    const passphrase = exchange.passphrase(exported.json.publicKey, exported.json.salt, roles);
    assert.ok(!exported.text.includes(passphrase), 'the passphrase is not in the answer');
    // Someone who saw both public keys and the salt, with a key pair of their own, derives another passphrase.
    const eavesdropper = newKeyExchange().passphrase(exported.json.publicKey, exported.json.salt, roles);
    assert.throws(() => openBundle(exported.json.bundle, eavesdropper), /passphrase is wrong/);
    const { keys } = openBundle(exported.json.bundle, passphrase);
    assert.ok(keys.hmac.equals(readFileSync(join(author!.home, 'keys', 'hmac'))), 'the agreed passphrase opens it to the farm key');
    await waitUntil('the export in the audit log', async () => /"event":"farm-keys-exported".*"by":"admin"/.test(author!.output));
    assert.ok(!author!.output.includes(passphrase), 'the passphrase is not logged');
  });

  it('changes users on the author for administrators only, never logging the password, and tells the outbox position', async () => {
    const [author] = farm.members;
    const password = 'a-password-never-logged';
    assert.equal((await post(`${author!.url}/system/farm/users`, { id: 'dora', password })).status, 401);
    const added = await post(`${author!.url}/system/farm/users`, { id: 'dora', password, groups: ['editors'] }, { 'login-token': token });
    assert.equal(added.status, 200, added.text);
    assert.deepEqual(added.json.agents, ['publish-1']);
    assert.ok(added.json.outboxSequence > 0);
    assert.equal((await post(`${author!.url}/system/farm/users`, { id: 'dora', password }, { 'login-token': token })).status, 409);
    assert.equal((await post(`${author!.url}/system/farm/users/passwd`, { id: 'nobody', password }, { 'login-token': token })).status, 404);
    assert.equal((await post(`${author!.url}/system/farm/users/remove`, { id: 'admin' }, { 'login-token': token })).status, 400, 'admin is kept per instance');
    const doraToken = await login(author!.url, 'dora', password);
    assert.equal((await post(`${author!.url}/system/farm/users/remove`, { id: 'dora' }, { 'login-token': doraToken })).status, 403, 'not an administrator');
    const removed = await post(`${author!.url}/system/farm/users/remove`, { id: 'dora' }, { 'login-token': token });
    assert.equal(removed.status, 200, removed.text);
    assert.ok(removed.json.outboxSequence > added.json.outboxSequence);
    await waitUntil('the change in the audit log', async () => /"event":"farm-user-removed".*"user":"dora"/.test(author!.output));
    assert.ok(!author!.output.includes(password), 'the password is not logged');
  });

  it("keeps the author's own groups out of farm users, and a refused user leaves no group behind", async () => {
    const [author] = farm.members;
    const before = (await memberView(author!, token)).replication.outboxHead;
    for (const group of ['administrators', 'replication-receivers']) {
      const refused = await post(`${author!.url}/system/farm/users`, { id: 'erin', password: 'pw-erin-1-correct-horse', groups: ['staff', group] }, { 'login-token': token });
      assert.equal(refused.status, 400, refused.text);
      assert.match(refused.json.error.message, new RegExp(`^${group} is kept per instance and never replicated`));
    }
    const badId = await post(`${author!.url}/system/farm/users`, { id: 'bad id!', password: 'pw-correct-horse', groups: ['newgroup'] }, { 'login-token': token });
    assert.equal(badId.status, 400, badId.text);
    const taken = await post(`${author!.url}/system/farm/users`, { id: 'admin2', password: 'pw-correct-horse', groups: ['admin2'] }, { 'login-token': token });
    assert.equal(taken.status, 409, 'a group of the user id of the user being made');
    assert.equal((await memberView(author!, token)).replication.outboxHead, before, 'nothing was written, no group was made');
    // The author's administrator 'admin' is refused by name; any other member of administrators by its group.
    const added = await post(`${author!.url}/system/farm/users`, { id: 'ops', password: 'pw-ops-1-correct-horse' }, { 'login-token': token });
    assert.equal(added.status, 200, added.text);
    assert.equal((await runCliInProcess(['groups', 'add-member', 'administrators', 'ops', '--home', author!.home])).code, 0);
    const passwd = await post(`${author!.url}/system/farm/users/passwd`, { id: 'ops', password: 'pw-ops-2-correct-horse' }, { 'login-token': token });
    assert.equal(passwd.status, 400, passwd.text);
    assert.match(passwd.json.error.message, /^ops is kept per instance and never replicated.*\(it is in administrators\)/);
  });

  it('adds a replication agent for administrators only, from this site only', async () => {
    const [author] = farm.members;
    const agent = { name: 'publish-9', url: 'http://127.0.0.9:4503', transportUser: 'replicator', transportPassword: 'transport-pw-9' };
    assert.equal((await post(`${author!.url}/system/farm/agents`, agent)).status, 401, 'anonymous');
    assert.equal((await post(`${author!.url}/system/farm/agents`, agent, { 'login-token': token, origin: 'https://evil.example' })).status, 403, 'another site');
    assert.equal((await memberView(author!, token)).replication.agents.some((each) => each.name === 'publish-9'), false, 'no agent was added');
  });

  it('farm users --wait waits for the enabled agents only, and says which disabled ones keep the change queued', async () => {
    const [author] = farm.members;
    const addAgent = ['replication', 'add-agent', 'publish-8', '--url', 'http://127.0.0.8:4503', '--transport-user', 'replicator', '--transport-password-stdin', '--disabled', '--home', author!.home];
    assert.equal((await runCliInProcess(addAgent, { stdin: 'transport-pw-8' })).code, 0);
    try {
      await waitUntil('the running author sees the new agent', async () => (await memberView(author!, token)).replication.agents.some((each) => each.name === 'publish-8'));
      const added = await runIn(farm.workDir, ['farm', 'users', 'add', 'fay', '--password-stdin', '--manifest', farm.manifestFile, '--wait', '10', '--json'], { CAPSULE_ADMIN_PASSWORD: farm.adminPassword }, 'pw-fay-1-correct-horse');
      assert.equal(added.code, 0, added.stderr);
      const result = JSON.parse(added.stdout) as { agents: string[]; disabledAgents: string[]; delivered: string[]; message: string };
      assert.deepEqual(result.agents, ['publish-1']);
      assert.deepEqual(result.disabledAgents, ['publish-8']);
      assert.deepEqual(result.delivered, ['publish-1']);
      assert.match(result.message, /replicated to publish-1 .*; publish-8 is disabled and keeps it queued until enabled \(on author: 'capsule config set capsule\.replication\.agent~publish-8 enabled=true --home HOME'\)$/);
    } finally {
      assert.equal((await runCliInProcess(['replication', 'remove', 'publish-8', '--home', author!.home])).code, 0);
    }
  });
});
