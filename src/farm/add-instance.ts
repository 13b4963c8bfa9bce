import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CapsuleError } from '../errors.js';
import { writeFileAtomic } from '../support/atomic-file.js';
import { failpoint } from '../support/failpoint.js';
import { addTransportUser, prepareInstanceHome, TRANSPORT_USER, type NewHomeOptions } from '../instance/new-home.js';
import { homeKeyIds, keyIdsOf } from '../instance/new-home-keys.js';
import { newKeysRequest } from '../instance/keys-request.js';
import { memberAddress, PUBLISH_PREFIX } from './init.js';
import { farmCredentials, farmPaths, LOCAL_RETRY_DELAY_SECONDS, MAX_PUBLISHERS, readLocalFarm, writeLocalFarm, type FarmPaths, type LocalFarm } from './local-farm.js';
import { renderLocalHaproxyConfig } from './local-haproxy.js';
import { FARM_AGENTS_PATH, FARM_KEYS_EXPORT_PATH, FARM_LOCK_PATH, FARM_MEMBER_PATH, FARM_UNLOCK_PATH, type ExportedKeys, type LockGrant, type MemberInfo } from '../member/protocol.js';
import { memberClient, type MemberClient } from './remote/admin-client.js';
import { lockMember } from './remote/manifest.js';

export interface AddedInstance {
  readonly name: string;
  readonly url: string;
  readonly home: string;
  readonly master: string;
  readonly hmac: string;
  readonly message: string;
}

function nextMember(farm: LocalFarm): { name: string; host: string; port: number } {
  const publishes = farm.members.filter((member) => member.role === 'publish');
  if (publishes.length >= MAX_PUBLISHERS) throw new CapsuleError('INVALID_ARGUMENT', `the farm has ${publishes.length} publishes, the most a local farm may have`);
  const numbers = publishes.map((member) => Number(new RegExp(`^${PUBLISH_PREFIX}(\\d+)$`).exec(member.name)?.[1] ?? 0));
  const octets = farm.members.map((member) => Number(/^127\.0\.0\.(\d+)$/.exec(member.host)?.[1] ?? 1));
  return { name: `${PUBLISH_PREFIX}${Math.max(0, ...numbers) + 1}`, host: memberAddress(Math.max(...octets) - 1), port: farm.members[0]!.port };
}

/** The farm's keys from the author: a `keys export` bundle whose passphrase the two sides agree by X25519 and never send. */
async function fetchKeys(author: MemberClient, info: MemberInfo) {
  const request = newKeysRequest();
  const keys = request.open(await author.post<ExportedKeys>(FARM_KEYS_EXPORT_PATH, { publicKey: request.publicKey }));
  const ids = keyIdsOf(keys);
  if (ids.hmac !== info.keys.hmac.id || ids.master !== info.keys.master.id) {
    throw new CapsuleError('KEY_MISMATCH', `the keys ${author.member.name} exported are not the ones it runs with (hmac ${info.keys.hmac.id}); restart it and try again; nothing was added`);
  }
  return keys;
}

/**
 * A new publish in the local farm, over the author's admin API: the farm's keys fetched in a
 * bundle (never in clear), a home made here with them and a transport user, an agent for it on
 * the author (its first package is a full snapshot: users, groups, content), then farm.json and
 * haproxy.cfg. A running `farm up` starts it and reloads HAProxy. No other member's home is read.
 * A run stopped after the agent was added is finished by the next (`finishInterrupted`).
 */
export async function addFarmInstance(dir: string, options: { env: NodeJS.ProcessEnv; adminPasswordFile?: string; hasher?: NewHomeOptions['hasher'] }): Promise<AddedInstance> {
  const paths = farmPaths(dir);
  const farm = readLocalFarm(paths);
  const credentials = farmCredentials(paths, { passwordFile: options.adminPasswordFile, passwordOnly: true, env: options.env });
  const { name, host, port } = nextMember(farm);
  const added = { name, url: `http://${host}:${port}`, home: join(paths.root, name) };
  const author = memberClient(lockMember(farm.manifest), credentials);

  // The farm lock keeps a rotation from changing the keys between the look at them, the export and the new agent.
  const holder = `farm add-instance ${credentials.user}@${hostname()} pid ${process.pid} ${randomBytes(4).toString('hex')}`;
  await author.post<LockGrant>(FARM_LOCK_PATH, { holder, leaseMs: 60_000 });
  let answer: AddedInstance;
  try {
    const info = await author.get<MemberInfo>(FARM_MEMBER_PATH);
    if (info.keys.stagedHmac) {
      throw new CapsuleError('KEY_CONFLICT', `an HMAC rotation is unfinished (${author.member.name} has staged ${info.keys.stagedHmac.id}); finish it with 'capsule farm rotate-hmac --dir ${paths.root}', then add the publish`);
    }
    const hasAgent = info.replication.agents.some((agent) => agent.name === name);
    const removeAgent = `'capsule replication remove ${name} --home ${join(paths.root, farm.local.homes[author.member.name] ?? author.member.name)}'`;
    if (existsSync(added.home)) {
      answer = finishInterrupted(paths, info, added, { authorName: author.member.name, hasAgent, removeAgent });
    } else {
      if (hasAgent) {
        throw new CapsuleError('INVALID_ARGUMENT', `${author.member.name} already has an agent ${name}, and there is no ${added.home}; remove the agent (${removeAgent}), then add the publish`);
      }
      answer = await makeInstance(paths, info, added, author, { adminPassword: credentials.password ?? '', hasher: options.hasher });
    }
  } finally {
    await author.post(FARM_UNLOCK_PATH, { holder }).catch(() => undefined);
  }
  failpoint('add-instance:agent-added');
  listMember(paths, farm, name, added.url);
  return answer;
}

type Added = { readonly name: string; readonly url: string; readonly home: string };

/** The home, with the farm's keys and a transport user, then the author's agent for it (last: nothing fails after the author starts sending). */
async function makeInstance(paths: FarmPaths, info: MemberInfo, added: Added, author: MemberClient, options: { adminPassword: string; hasher?: NewHomeOptions['hasher'] }): Promise<AddedInstance> {
  const { name, url, home } = added;
  const keys = await fetchKeys(author, info);
  const transportPassword = randomBytes(18).toString('base64url');
  // A run killed while it built the home left its folder; under the farm lock no other run builds one now.
  for (const entry of readdirSync(paths.root)) if (entry.startsWith(`.${name}.partial-`)) rmSync(join(paths.root, entry), { recursive: true, force: true });
  const building = join(paths.root, `.${name}.partial-${randomBytes(4).toString('hex')}`);
  try {
    // The password the command logged in with: the new member's admin is the same as the others'.
    await prepareInstanceHome(building, { keys, adminPassword: options.adminPassword, behindLoadBalancer: true, hasher: options.hasher, setup: (services) => addTransportUser(services, transportPassword) });
    renameSync(building, home);
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    throw error;
  }
  try {
    await author.post(FARM_AGENTS_PATH, { name, url, transportUser: TRANSPORT_USER, transportPassword, retryDelaySeconds: LOCAL_RETRY_DELAY_SECONDS });
  } catch (error) {
    // The author may have added the agent and its answer been lost: then the home stays, for it.
    const agentAdded = await author.get<MemberInfo>(FARM_MEMBER_PATH).then(
      (now) => now.replication.agents.some((agent) => agent.name === name),
      () => true, // cannot tell: keep the home, the next run finishes or explains
    );
    if (!agentAdded) rmSync(home, { recursive: true, force: true });
    throw error;
  }
  return addedInstance(
    added,
    info.keys,
    `added ${name} (${url}, home ${home}) with master ${info.keys.master.id} and hmac ${info.keys.hmac.id} from ${author.member.name}, whose new agent sends it every user, group and activated content; ${paths.haproxyConfig} lists it; ${STARTS_IT}`,
  );
}

const STARTS_IT = "a running 'capsule farm up' starts it and reloads HAProxy by itself";

function addedInstance(added: Added, keys: { master: { id: string }; hmac: { id: string } }, message: string): AddedInstance {
  return { ...added, master: keys.master.id, hmac: keys.hmac.id, message };
}

/** farm.json and haproxy.cfg with the new publish. */
function listMember(paths: FarmPaths, farm: LocalFarm, name: string, url: string): void {
  const manifest = { ...farm.manifest, members: [...farm.manifest.members, { name, role: 'publish' as const, url }] };
  const local = { ...farm.local, homes: { ...farm.local.homes, [name]: name } };
  // HAProxy's file first: `farm up` acts on the manifest and then reloads HAProxy with this file.
  writeFileAtomic(paths.haproxyConfig, renderLocalHaproxyConfig(manifest, local), 0o644);
  writeLocalFarm(paths, manifest, local);
}

/**
 * The next publish's home exists but farm.json does not list it. If the author has its agent
 * and the home holds the keys the author runs with, an earlier add-instance stopped after adding
 * the agent (its last step but one): finish by listing the publish. Otherwise refuse, saying why.
 * The home is one this command made, never run yet: reading its key files reads no member's home.
 */
function finishInterrupted(
  paths: FarmPaths,
  info: MemberInfo,
  added: Added,
  author: { authorName: string; hasAgent: boolean; removeAgent: string },
): AddedInstance {
  const { name, home } = added;
  const { authorName, hasAgent, removeAgent } = author;
  if (!hasAgent) {
    throw new CapsuleError(
      'INVALID_ARGUMENT',
      `${home} exists, and ${authorName} has no agent ${name}: an earlier 'capsule farm add-instance' may have stopped before adding it; move ${home} away and run it again`,
    );
  }
  const held = homeKeyIds(home);
  const keys = { master: { id: held.master }, hmac: { id: held.hmac } };
  if (keys.master.id !== info.keys.master.id || keys.hmac.id !== info.keys.hmac.id) {
    throw new CapsuleError(
      'KEY_MISMATCH',
      `${home} holds master ${keys.master.id} and hmac ${keys.hmac.id}, but ${authorName} runs with master ${info.keys.master.id} and hmac ${info.keys.hmac.id} (keys rotated since an earlier 'capsule farm add-instance' stopped); remove the agent (${removeAgent}), move ${home} away and run it again`,
    );
  }
  return addedInstance(
    added,
    keys,
    `finished adding ${name} (${added.url}, home ${home}): an earlier 'capsule farm add-instance' had made its home and the agent on ${authorName}, and stopped before listing it; ${paths.haproxyConfig} lists it now; ${STARTS_IT}`,
  );
}
