import nodeCrypto, { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Repository, RepositoryNode } from '../repository/index.js';

/**
 * Stateful tokens: a node under the user's `.tokens` holding SHA-256(secret + userId); the
 * cookie is `<node id>_<secret>`. The secret never reaches the repository.
 */
export const TOKEN_TYPE = 'capsule:Token';
export const TOKENS_FOLDER = '.tokens';
const NODE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;
/** The refusal of a value shaped like no stateful token (not audited, as `isNotAToken` in encapsulated-tokens.ts). */
export const MALFORMED_STATEFUL_TOKEN = 'malformed stateful token';
const VALIDATED_PROPERTIES = ['tokenUser', 'tokenHash', 'expiresAt', 'sid', 'gen'] as const;
/**
 * Bumped in the transaction of every removal of a token by this store (logout, logout everywhere,
 * the oldest beyond the limit, cleanup), so that a cache of validated tokens (validated-tokens.ts)
 * in any process sees that a token it holds may be gone. A token removed with its user is told by
 * the users counter, which every user change bumps.
 */
export const STATEFUL_TOKENS_COUNTER = 'stateful-tokens';

export interface StatefulToken {
  readonly nodeId: string;
  readonly userId: string;
  readonly expiresAt: number;
  /** The session (sessions/) the token was issued for; absent on tokens from before sessions existed. */
  readonly sid?: string;
  /** The user's token generation at issue (a password change or a disable raises it: the token ends); absent on older tokens. */
  readonly gen?: number;
}

export type StatefulValidation =
  | { readonly ok: true; readonly token: StatefulToken }
  | { readonly ok: false; readonly reason: string };

// The one-shot hash (Node ≥ 20.12) makes no Hash object: about 0.6 µs less on every stateful
// request. The same bytes as update(secret).update(userId), so stored hashes stay valid.
const oneShotHash = typeof nodeCrypto.hash === 'function' ? nodeCrypto.hash : undefined;

function hashOf(secret: string, userId: string): Buffer {
  return oneShotHash ? oneShotHash('sha256', secret + userId, 'buffer') : createHash('sha256').update(secret).update(userId).digest();
}

export function looksStateful(token: string): boolean {
  const underscore = token.indexOf('_');
  return underscore === 36 && NODE_ID.test(token.slice(0, 36));
}

export interface StatefulTokenStore {
  create(user: { id: string; path: string; generation?: number }, nowMs: number, lifetimeMs: number, sid?: string): Promise<{ token: string; expiresAt: number }>;
  validate(token: string, nowMs: number): Promise<StatefulValidation>;
  /** Pushes the expiry back (one write); call only past half-life. */
  extend(nodeId: string, expiresAt: number): Promise<void>;
  remove(token: string): Promise<boolean>;
  removeAllOf(user: { path: string }): Promise<number>;
  /** Removes expired tokens, `batchSize` per transaction; returns how many. */
  removeExpired(nowMs: number, batchSize?: number): Promise<number>;
}

/** Tokens by creation time, ties by node id, so that every process trims the same ones. */
function oldestFirst(tokens: readonly RepositoryNode[]): RepositoryNode[] {
  const createdAt = (node: RepositoryNode) => (node.properties.createdAt as Date).getTime();
  return [...tokens].sort((a, b) => createdAt(a) - createdAt(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Validation is one narrow read by node id: one statement, one round trip on PostgreSQL. Writes run in
 * `repo.transaction`, whose `work` may run again after a conflict (types.ts): the secret is made
 * outside it, and a repeated attempt only adds its node again and trims the oldest again.
 */
export function createStatefulTokenStore(deps: { repo: Repository; maxPerUser: () => number }): StatefulTokenStore {
  const { repo } = deps;

  async function nodeOf(token: string): Promise<RepositoryNode | null> {
    if (!looksStateful(token)) return null;
    const node = await repo.getNodeById(token.slice(0, 36));
    return node?.type === TOKEN_TYPE ? node : null;
  }

  return {
    async create(user, nowMs, lifetimeMs, sid) {
      const secret = randomBytes(32).toString('base64url');
      const expiresAt = nowMs + lifetimeMs;
      const folder = `${user.path}/${TOKENS_FOLDER}`;
      const node = await repo.transaction(async (tx) => {
        const created = await tx.addNode(`${folder}/${randomUUID()}`, {
          type: TOKEN_TYPE,
          properties: {
            tokenUser: user.id,
            tokenHash: hashOf(secret, user.id).toString('hex'),
            createdAt: new Date(nowMs),
            expiresAt: new Date(expiresAt),
            ...(sid !== undefined ? { sid } : {}),
            ...(user.generation !== undefined ? { gen: user.generation } : {}),
          },
        });
        // The token just made is never a candidate: others may carry the same createdAt (many
        // logins in one millisecond) or a later one (another author whose clock is ahead).
        const others = (await tx.getChildren(folder)).filter((node) => node.id !== created.id);
        const excess = others.length + 1 - deps.maxPerUser();
        if (excess > 0) {
          for (const stale of oldestFirst(others).slice(0, excess)) await tx.removeNode(stale.path);
          await tx.bumpCounter(STATEFUL_TOKENS_COUNTER);
        }
        return created;
      });
      return { token: `${node.id}_${secret}`, expiresAt };
    },

    async validate(token, nowMs) {
      const secret = token.slice(37);
      if (!looksStateful(token) || !SECRET.test(secret)) return { ok: false, reason: MALFORMED_STATEFUL_TOKEN };
      // The narrow read (type and three properties), not getNodeById: this runs on every request.
      const nodeId = token.slice(0, 36);
      const record = await repo.getPropertiesById(nodeId, VALIDATED_PROPERTIES);
      if (record?.type !== TOKEN_TYPE) return { ok: false, reason: 'no such token' };
      const { tokenUser, tokenHash, expiresAt, sid, gen } = record.properties;
      if (typeof tokenUser !== 'string' || typeof tokenHash !== 'string' || !(expiresAt instanceof Date)) return { ok: false, reason: 'damaged token node' };
      const stored = Buffer.from(tokenHash, 'hex');
      const given = hashOf(secret, tokenUser);
      if (stored.length !== given.length || !timingSafeEqual(stored, given)) return { ok: false, reason: 'wrong secret' };
      if (expiresAt.getTime() <= nowMs) return { ok: false, reason: 'expired' };
      const valid = { nodeId, userId: tokenUser, expiresAt: expiresAt.getTime(), ...(typeof gen === 'number' ? { gen } : {}) };
      return { ok: true, token: typeof sid === 'string' ? { ...valid, sid } : valid };
    },

    async extend(nodeId, expiresAt) {
      await repo.transaction(async (tx) => {
        const node = await tx.getNodeById(nodeId);
        if (node?.type === TOKEN_TYPE) await tx.setProperties(node.path, { expiresAt: new Date(expiresAt) });
      });
    },

    async remove(token) {
      const node = await nodeOf(token);
      if (!node) return false;
      return repo.transaction(async (tx) => {
        const removed = await tx.removeNode(node.path);
        if (removed) await tx.bumpCounter(STATEFUL_TOKENS_COUNTER);
        return removed;
      });
    },

    async removeAllOf(user) {
      return repo.transaction(async (tx) => {
        const count = (await tx.getChildren(`${user.path}/${TOKENS_FOLDER}`)).length;
        if (await tx.removeNode(`${user.path}/${TOKENS_FOLDER}`)) await tx.bumpCounter(STATEFUL_TOKENS_COUNTER);
        return count;
      });
    },

    async removeExpired(nowMs, batchSize = 500) {
      let removed = 0;
      let after = '';
      for (;;) {
        const batch = await repo.findByType(TOKEN_TYPE, batchSize, after);
        if (batch.length === 0) return removed;
        after = batch.at(-1)!.id;
        const expired = batch.filter((node) => (node.properties.expiresAt as Date).getTime() <= nowMs);
        if (expired.length > 0) {
          // Counted from what `work` returns: on PostgreSQL it may run more than once.
          removed += await repo.transaction(async (tx) => {
            let count = 0;
            for (const node of expired) if (await tx.removeNode(node.path)) count++;
            if (count > 0) await tx.bumpCounter(STATEFUL_TOKENS_COUNTER);
            return count;
          });
        }
      }
    },
  };
}
