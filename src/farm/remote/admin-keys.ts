import { CapsuleError } from '../../errors.js';
import {
  ADMIN_KEY_SHAPE,
  FARM_ADMIN_KEYS_PATH,
  FARM_ADMIN_KEYS_REVOKE_PATH,
  hashOfAdminKey,
  newAdminKey,
  type AdminKeyView,
} from '../../member/protocol.js';
import { memberClient, type AdminCredentials } from './admin-client.js';
import type { FarmManifestV2 } from './manifest.js';

export interface FarmAdminKeyCreated {
  /** The key itself: to be shown once, stored by the operator, never logged. */
  readonly key: string;
  readonly info: AdminKeyView;
  readonly members: readonly string[];
}

/**
 * One operator's admin API key for every member of the farm. Members of a publish farm each keep
 * their own repository, and keys (unlike users) are not replicated: the key is made here, and
 * every member is given its hash, so the same key works on each; an author cluster sharing one
 * repository gets it once (a repeated install of the same key is a no-op). Every member is asked
 * first whether the name is free, so an unreachable member or a taken name changes nothing; a
 * member failing midway has the members done so far revoked again.
 */
export async function createFarmAdminKey(manifest: FarmManifestV2, credentials: AdminCredentials, name: string, expiresAt: Date | null): Promise<FarmAdminKeyCreated> {
  const clients = manifest.members.map((member) => memberClient(member, credentials));
  for (const client of clients) {
    const { keys } = await client.get<{ keys: AdminKeyView[] }>(FARM_ADMIN_KEYS_PATH);
    if (keys.some((key) => key.name === name)) {
      throw new CapsuleError('INVALID_ARGUMENT', `${client.member.name} already has an admin API key named '${name}'; revoke it ('capsule farm admin-keys revoke ${name}') or choose another name; nothing was changed`);
    }
  }
  const key = newAdminKey();
  const id = ADMIN_KEY_SHAPE.exec(key)![1]!;
  const body = { id, name, keyHash: hashOfAdminKey(key), expiresAt: expiresAt?.toISOString() ?? null };
  const done: typeof clients = [];
  let info: AdminKeyView | undefined;
  try {
    for (const client of clients) {
      info = await client.post<AdminKeyView>(FARM_ADMIN_KEYS_PATH, body);
      done.push(client);
    }
  } catch (error) {
    await Promise.all(done.map((client) => client.post(FARM_ADMIN_KEYS_REVOKE_PATH, { nameOrId: id }).catch(() => undefined)));
    throw error;
  }
  return { key, info: info!, members: clients.map((client) => client.member.name) };
}

/** Revokes the key named so (name or id) on every member; names the members that had it. */
export async function revokeFarmAdminKey(manifest: FarmManifestV2, credentials: AdminCredentials, nameOrId: string): Promise<{ revokedOn: string[] }> {
  const revokedOn: string[] = [];
  for (const member of manifest.members) {
    const answer = await memberClient(member, credentials).post<{ revoked: AdminKeyView | null }>(FARM_ADMIN_KEYS_REVOKE_PATH, { nameOrId });
    if (answer.revoked) revokedOn.push(member.name);
  }
  if (revokedOn.length === 0) throw new CapsuleError('INVALID_ARGUMENT', `no member has an admin API key named '${nameOrId}' or with that id; nothing was changed`);
  return { revokedOn };
}

/** Every member's keys (never a key itself). */
export async function listFarmAdminKeys(manifest: FarmManifestV2, credentials: AdminCredentials): Promise<Array<{ member: string; keys: AdminKeyView[] }>> {
  return Promise.all(
    manifest.members.map(async (member) => ({ member: member.name, keys: (await memberClient(member, credentials).get<{ keys: AdminKeyView[] }>(FARM_ADMIN_KEYS_PATH)).keys })),
  );
}
