import { timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.js';
import { ADMIN_KEY_HASH_SHAPE, ADMIN_KEY_ID_SHAPE, ADMIN_KEY_NAME_SHAPE, ADMIN_KEY_PREFIX, ADMIN_KEY_SHAPE, hashOfAdminKey, newAdminKey } from '../crypto/index.js';
import { CapsuleError } from '../errors.js';
import type { Repository, RepositoryNode } from '../repository/index.js';

/**
 * Per-operator API keys for the admin API (format: crypto/admin-key-format.ts), a node each named by
 * the key's id, so a key is looked up by id. Only SHA-256 of the whole key is stored. A slow hash (argon2id, as for passwords) buys nothing here:
 * it slows the guessing of a low-entropy secret, and 256 random bits cannot be guessed however fast
 * the hash; it would only cost every admin API call tens of milliseconds of CPU.
 *
 * The keys live in the repository, under /etc/admin-keys: instances that share a repository (an
 * author cluster) share them; members with repositories of their own (a publish farm) are each given
 * the same key by `capsule farm admin-keys create` (its hash is sent, never the key).
 */
export const ADMIN_KEYS_ROOT = '/etc/admin-keys';
export const ADMIN_KEY_TYPE = 'capsule:AdminKey';
/** `lastUsedAt` is written at most this often per key and process: no write per request. */
export const LAST_USED_WRITE_INTERVAL_MS = 60_000;

export interface AdminKeyInfo {
  readonly id: string;
  readonly name: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly expiresAt: Date | null;
}

/** What is stored of a key: enough to install the same key on another member, nothing to use it with. */
export interface AdminKeyRecord {
  readonly id: string;
  readonly name: string;
  readonly keyHash: string;
  readonly expiresAt: Date | null;
}

export type AdminKeyCheck = { readonly ok: true; readonly key: AdminKeyInfo } | { readonly ok: false; readonly id: string | null; readonly reason: string };

export interface AdminKeyStore {
  /** A new key: returned once, with what is stored of it. */
  create(name: string, options?: { expiresInDays?: number }): Promise<{ key: string; info: AdminKeyInfo; record: AdminKeyRecord }>;
  /** Installs a key made elsewhere (its hash): the same key then works here too. */
  install(record: AdminKeyRecord): Promise<AdminKeyInfo>;
  list(): Promise<AdminKeyInfo[]>;
  /** Removes the key named so (its name or id); false when there is none. */
  revoke(nameOrId: string): Promise<AdminKeyInfo | null>;
  check(key: string): Promise<AdminKeyCheck>;
}

export function looksLikeAdminKey(value: string): boolean {
  return value.startsWith(ADMIN_KEY_PREFIX);
}

function infoOf(node: RepositoryNode): AdminKeyInfo {
  const { name, createdAt, lastUsedAt, expiresAt } = node.properties;
  return {
    id: node.path.slice(ADMIN_KEYS_ROOT.length + 1),
    name: String(name),
    createdAt: createdAt instanceof Date ? createdAt : node.created,
    lastUsedAt: lastUsedAt instanceof Date ? lastUsedAt : null,
    expiresAt: expiresAt instanceof Date ? expiresAt : null,
  };
}

function checkName(name: string): void {
  if (!ADMIN_KEY_NAME_SHAPE.test(name)) throw new CapsuleError('INVALID_ARGUMENT', `admin key name '${name}': letters, digits, '.', '_' and '-', at most 64, starting with a letter or digit`);
}

export function createAdminKeyStore(deps: { repo: Repository; clock: Clock }): AdminKeyStore {
  const { repo, clock } = deps;
  const lastWritten = new Map<string, number>();

  async function all(): Promise<RepositoryNode[]> {
    return (await repo.getChildren(ADMIN_KEYS_ROOT)).filter((node) => node.type === ADMIN_KEY_TYPE);
  }

  async function install(record: AdminKeyRecord): Promise<AdminKeyInfo> {
    checkName(record.name);
    if (!ADMIN_KEY_ID_SHAPE.test(record.id) || !ADMIN_KEY_HASH_SHAPE.test(record.keyHash)) throw new CapsuleError('INVALID_ARGUMENT', 'admin key: malformed id or hash');
    const node = await repo.transaction(async (tx) => {
      const others = (await tx.getChildren(ADMIN_KEYS_ROOT)).filter((node) => node.type === ADMIN_KEY_TYPE);
      const same = others.find((node) => node.path === `${ADMIN_KEYS_ROOT}/${record.id}`);
      if (same && same.properties.keyHash === record.keyHash && same.properties.name === record.name) return same; // installed before: a repeated farm command
      if (same || others.some((node) => node.properties.name === record.name)) {
        throw new CapsuleError('INVALID_ARGUMENT', `an admin key named '${record.name}' (or with its id) exists; revoke it first or choose another name`);
      }
      return tx.addNode(`${ADMIN_KEYS_ROOT}/${record.id}`, {
        type: ADMIN_KEY_TYPE,
        properties: { name: record.name, keyHash: record.keyHash, createdAt: new Date(clock.now()), ...(record.expiresAt && { expiresAt: record.expiresAt }) },
      });
    });
    return infoOf(node);
  }

  return {
    async create(name, options = {}) {
      checkName(name);
      const days = options.expiresInDays;
      if (days !== undefined && !(Number.isInteger(days) && days > 0)) throw new CapsuleError('INVALID_ARGUMENT', '--expires-in: a whole number of days, at least 1');
      const key = newAdminKey();
      const record: AdminKeyRecord = {
        id: key.slice(ADMIN_KEY_PREFIX.length, ADMIN_KEY_PREFIX.length + 16),
        name,
        keyHash: hashOfAdminKey(key),
        expiresAt: days === undefined ? null : new Date(clock.now() + days * 86_400_000),
      };
      const info = await install(record);
      return { key, info, record };
    },

    install,

    async list() {
      return (await all()).map(infoOf).sort((a, b) => a.name.localeCompare(b.name));
    },

    async revoke(nameOrId) {
      return repo.transaction(async (tx) => {
        const found = (await tx.getChildren(ADMIN_KEYS_ROOT)).find(
          (node) => node.type === ADMIN_KEY_TYPE && (node.properties.name === nameOrId || node.path === `${ADMIN_KEYS_ROOT}/${nameOrId}`),
        );
        if (!found) return null;
        await tx.removeNode(found.path);
        return infoOf(found);
      });
    },

    async check(value) {
      const match = ADMIN_KEY_SHAPE.exec(value);
      if (!match) return { ok: false, id: null, reason: 'malformed key' };
      const id = match[1]!;
      const node = await repo.getNode(`${ADMIN_KEYS_ROOT}/${id}`);
      if (node?.type !== ADMIN_KEY_TYPE || typeof node.properties.keyHash !== 'string') return { ok: false, id, reason: 'no such key (revoked or never made)' };
      const stored = Buffer.from(node.properties.keyHash, 'hex');
      const given = Buffer.from(hashOfAdminKey(value), 'hex');
      if (stored.length !== given.length || !timingSafeEqual(stored, given)) return { ok: false, id, reason: 'wrong secret' };
      const info = infoOf(node);
      const now = clock.now();
      if (info.expiresAt && info.expiresAt.getTime() <= now) return { ok: false, id, reason: 'expired' };
      const last = Math.max(lastWritten.get(id) ?? 0, info.lastUsedAt?.getTime() ?? 0);
      if (now - last >= LAST_USED_WRITE_INTERVAL_MS) {
        lastWritten.set(id, now);
        // Best effort: a key revoked between the read and this write is not brought back.
        await repo.transaction(async (tx) => {
          if (await tx.getNode(node.path)) await tx.setProperties(node.path, { lastUsedAt: new Date(now) });
        });
      }
      return { ok: true, key: info };
    },
  };
}
