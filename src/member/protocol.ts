import { z } from 'zod';
import { ADMIN_KEY_HASH_SHAPE, ADMIN_KEY_ID_SHAPE, ADMIN_KEY_NAME_SHAPE, type KeyIds } from '../crypto/index.js';

export { ADMIN_KEY_SHAPE, hashOfAdminKey, newAdminKey } from '../crypto/index.js';

/**
 * The wire contract of a member's admin API (`/system/farm/*`, administrators only): its paths,
 * the request bodies it accepts and the answers it gives. The member serves it
 * (http/routes/farm.ts over member-service.ts); the operator's farm commands (farm/remote/) call
 * it, importing this file alone from the member's side.
 */
/** Every path of the member's admin API starts with this. */
export const FARM_PATH_PREFIX = '/system/farm';
export const FARM_MEMBER_PATH = '/system/farm/member';
export const FARM_HMAC_STAGE_PATH = '/system/farm/hmac/stage';
export const FARM_HMAC_PROMOTE_PATH = '/system/farm/hmac/promote';
export const FARM_LOCK_PATH = '/system/farm/lock';
export const FARM_UNLOCK_PATH = '/system/farm/unlock';
export const FARM_USERS_PATH = '/system/farm/users';
export const FARM_USERS_PASSWD_PATH = '/system/farm/users/passwd';
export const FARM_USERS_REMOVE_PATH = '/system/farm/users/remove';
/** POST, not GET: the query is a body like every other call's, never in an access log's URL. */
export const FARM_USERS_LIST_PATH = '/system/farm/users/list';
export const FARM_USERS_DISABLE_PATH = '/system/farm/users/disable';
export const FARM_USERS_ENABLE_PATH = '/system/farm/users/enable';
export const FARM_USERS_LOGOUT_EVERYWHERE_PATH = '/system/farm/users/logout-everywhere';
export const FARM_KEYS_EXPORT_PATH = '/system/farm/keys/export';
export const FARM_AGENTS_PATH = '/system/farm/agents';
/** The operators' admin API keys: GET lists them, POST installs one (its hash), POST …/revoke removes one. */
export const FARM_ADMIN_KEYS_PATH = '/system/farm/admin-keys';
export const FARM_ADMIN_KEYS_REVOKE_PATH = '/system/farm/admin-keys/revoke';
/** A user's sessions as this member lists them: POST with `{ user }` (a body, so no id lands in an access log's URL). */
export const FARM_SESSIONS_LIST_PATH = '/system/farm/sessions/list';
/** Ends one session of a user (`{ user, session }`); `revoked: null` when this member knows no live one. */
export const FARM_SESSIONS_REVOKE_PATH = '/system/farm/sessions/revoke';
/** Ends every live session of a user (`{ user }`). */
export const FARM_SESSIONS_REVOKE_ALL_PATH = '/system/farm/sessions/revoke-all';

/** The longest lease the farm lock grants: a holder that died blocks the farm this long at most. */
export const MAX_LEASE_MS = 10 * 60_000;

/** The format of an HMAC key in transit between members (sealed-key.ts seals and opens it). */
export const SEALED_KEY_FORMAT = 'capsule-sealed-hmac/1';

export const sealedKeySchema = z.object({
  format: z.literal(SEALED_KEY_FORMAT),
  /** The id of the HMAC key the sealing key was derived from. */
  sealedWith: z.string().regex(/^[0-9a-f]{16}$/),
  salt: z.string().min(1),
  nonce: z.string().min(1),
  ciphertext: z.string().min(1),
  tag: z.string().min(1),
});

export type SealedKey = z.infer<typeof sealedKeySchema>;

/** One side's X25519 public key in the exchange that agrees a keys export's passphrase (key-exchange.ts). */
export const publicKeySchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'an X25519 public key, 32 bytes in base64url');

export const stageBody = z.object({ sealed: sealedKeySchema.optional(), kid: z.string().regex(/^[0-9a-f]{16}$/).optional() }).strict();
export const promoteBody = z.object({ expectedKid: z.string().regex(/^[0-9a-f]{16}$/), keepPrevious: z.boolean().default(true) }).strict();
export const lockBody = z.object({ holder: z.string().min(1).max(200), leaseMs: z.number().int().min(1000).max(MAX_LEASE_MS), rotation: z.string().max(64).optional() }).strict();
export const unlockBody = z.object({ holder: z.string().min(1).max(200) }).strict();
const userId = z.string().min(1).max(200);
const password = z.string().min(1).max(1024);
export const addUserBody = z.object({ id: userId, password, groups: z.array(z.string().min(1).max(200)).max(64).default([]) }).strict();
export const passwdBody = z.object({ id: userId, password }).strict();
export const removeUserBody = z.object({ id: userId }).strict();
/** One user named: disable, enable, logout-everywhere. */
export const userBody = z.object({ id: userId }).strict();
/** A page of users (users/types.ts UserQuery; 1000 is its MAX_PAGE_SIZE, which this file may not import). */
export const listUsersBody = z
  .object({ prefix: userId.optional(), group: userId.optional(), provider: z.string().min(1).max(200).optional(), after: userId.optional(), limit: z.number().int().min(1).max(1000).optional() })
  .strict();
/** A session id as tokens carry it (`sid`): 22 base64url characters. */
export const SESSION_ID_SHAPE = /^[A-Za-z0-9_-]{22}$/;
export const sessionsOfUserBody = z.object({ user: userId }).strict();
export const revokeSessionBody = z.object({ user: userId, session: z.string().regex(SESSION_ID_SHAPE, 'a session id: 22 characters A-Z a-z 0-9 _ -') }).strict();
/** An admin API key as a member stores it: its hash, never the key. */
export const installAdminKeyBody = z
  .object({
    id: z.string().regex(ADMIN_KEY_ID_SHAPE),
    name: z.string().regex(ADMIN_KEY_NAME_SHAPE, "letters, digits, '.', '_' and '-', at most 64"),
    keyHash: z.string().regex(ADMIN_KEY_HASH_SHAPE),
    expiresAt: z.string().datetime().nullable(),
  })
  .strict();
export const revokeAdminKeyBody = z.object({ nameOrId: z.string().min(1).max(64) }).strict();
/** What a member tells of a key (never the key, nor its hash). */
export interface AdminKeyView {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly expiresAt: string | null;
}
export const exportBody = z.object({ publicKey: publicKeySchema }).strict();
export const agentBody = z
  .object({
    name: z.string().min(1).max(64),
    url: z.string().url().refine((url) => /^https?:\/\//.test(url), 'an http(s) URL'),
    transportUser: userId,
    transportPassword: password,
    retryDelaySeconds: z.number().int().min(1).max(3600).optional(),
  })
  .strict();

export interface MemberKey {
  readonly id: string;
  readonly fingerprint: string | null;
}

export interface FarmLockState {
  readonly holder: string;
  readonly expiresAt: string;
  /** The HMAC key id of the rotation under way ('' before one was chosen). */
  readonly rotation: string;
}

/** What `POST /system/farm/lock` answers. */
export interface LockGrant {
  readonly holder: string;
  readonly expiresAt: string;
  readonly rotation: string;
  /** The lapsed lock this grant replaced: what an interrupted run was doing. */
  readonly tookOver: FarmLockState | null;
}

/** What `GET /system/farm/member` answers: what the farm commands compare across members. */
export interface MemberInfo {
  readonly instance: string;
  /** 'author' when it replicates to publishes (it has agents), else 'publish'. */
  readonly role: 'author' | 'publish';
  readonly keys: {
    readonly storage: string;
    readonly master: MemberKey;
    readonly hmac: MemberKey;
    readonly stagedHmac: MemberKey | null;
    readonly retiredHmac: readonly MemberKey[];
  };
  readonly users: number;
  readonly replication: {
    /** Author: the last change written to the outbox, and how far each agent has delivered. */
    readonly outboxHead: number;
    readonly agents: ReadonlyArray<{ name: string; queued: number; lastDeliveredSequence: number; deliveredThrough: number; lagSeconds: number; lastError: string | null }>;
    /** Publish: the last package applied from each source. */
    readonly received: ReadonlyArray<{ source: string; lastSequence: number; appliedAt: string | null }>;
  };
  readonly lock: FarmLockState | null;
}

/** What `POST /system/farm/hmac/stage` answers. */
export interface StagedForFarm {
  readonly staged: string;
  readonly changed: boolean;
  /** The staged key sealed with this member's signing key, for the other members. */
  readonly sealed: SealedKey;
  readonly keys: KeyIds;
  readonly message: string;
}

/** What a user change on the author answers: where the change sits in the outbox, and who receives it. */
export interface MemberUserChange {
  readonly id: string;
  /** The outbox head after the change: once an agent has delivered through it, its publish has the change. */
  readonly outboxSequence: number;
  /** The enabled agents (one per publish): they replicate the change. (Before `disabledAgents`, every agent.) */
  readonly agents: readonly string[];
  /** Disabled agents: they keep the change queued and send it once enabled again. */
  readonly disabledAgents: readonly string[];
}

/** A user in `POST /system/farm/users/list`'s answer. */
export interface MemberUserView {
  readonly id: string;
  readonly disabled: boolean;
  readonly generation: number;
  readonly groups: readonly string[];
}

/** What `POST /system/farm/users/list` answers: one page, in id order; `next` is the `after` of the next page, null on the last. */
export interface MemberUserPage {
  readonly users: readonly MemberUserView[];
  readonly next: string | null;
}

/** What `POST /system/farm/users/logout-everywhere` answers: the change, and the user's new token generation. */
export interface MemberLogoutEverywhere extends MemberUserChange {
  readonly generation: number;
  /** The stateful tokens removed on the author (a publish's own end by the generation). */
  readonly statefulTokensRemoved: number;
}

/** What `POST /system/farm/keys/export` answers: what the caller needs, with its own private key, to derive the passphrase; the passphrase is not in it. */
export interface ExportedKeys {
  readonly bundle: string;
  readonly publicKey: string;
  readonly salt: string;
}

/** A session as a member shows it (the fields of sessions/ SessionView, which this file may not import). */
export interface MemberSessionView {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: string;
  readonly lastSeenAt: string;
  readonly expiresAt: string;
  readonly method: 'password' | 'oidc' | 'saml' | 'transport';
  readonly provider: string | null;
  readonly clientAddress: string;
  readonly browser: string;
  readonly os: string;
  readonly userAgent: string;
  readonly instance: string;
  readonly state: 'active' | 'ended';
  readonly endReason: string | null;
  readonly endedAt: string | null;
  readonly endedBy: string | null;
  readonly current: boolean;
}

/** What `POST /system/farm/sessions/list` answers. */
export interface MemberSessionList {
  readonly userId: string;
  readonly sessions: readonly MemberSessionView[];
}

/** What `POST /system/farm/sessions/revoke` answers. */
export interface MemberSessionRevoked {
  readonly userId: string;
  readonly revoked: MemberSessionView | null;
}

/** What `POST /system/farm/sessions/revoke-all` answers. */
export interface MemberSessionsEnded {
  readonly userId: string;
  readonly ended: number;
}
