import type { Clock } from '../clock.js';
import type { ConfigAdmin } from '../config/index.js';
import {
  fingerprint,
  generateKey,
  keyId,
  loadKeySet,
  promoteStagedHmacKey,
  refuseRotationOnSharedRepository,
  stageHmacKey,
  withKeyOperationLock,
  type CryptoSupport,
  type HmacPromotion,
  type KeyIds,
  type KeyLocations,
} from '../crypto/index.js';
import { configuredAgents, OUTBOX_COUNTER, replicationStatus, type Receiver } from '../replication/index.js';
import type { Repository } from '../repository/index.js';
import type { UserManager } from '../users/index.js';
import { CapsuleError } from '../errors.js';
import { createFarmLock, type FarmLock } from './farm-lock.js';
import { createMemberProvisioning, type MemberProvisioning } from './member-provisioning.js';
import { createMemberUsers, type MemberUsers } from './member-users.js';
import type { MemberInfo, MemberKey, SealedKey, StagedForFarm } from './protocol.js';
import { openSealedKey, sealKey } from './sealed-key.js';

export interface FarmMemberDeps {
  readonly instanceName: () => string;
  readonly repo: Repository;
  readonly users: UserManager;
  readonly config: ConfigAdmin;
  readonly crypto: CryptoSupport;
  readonly home: KeyLocations;
  readonly clock: Clock;
  /** The instance's replication receiver: what this member has received, per source. */
  readonly receiver: Receiver;
  /** Reloads the keys the running instance uses (after a stage or a promotion). */
  readonly reloadKeys: () => Promise<KeyIds>;
}

export interface FarmMember {
  describe(): Promise<MemberInfo>;
  /**
   * With `sealed`: opens it with the farm's key and stages the key it holds. With `kid`: stages
   * (again) the key of that id this member holds, to hand it out. Without either: stages a new
   * key here, or keeps the one already staged (a rerun continues the same rotation).
   */
  stage(source?: { sealed?: SealedKey; kid?: string }): Promise<StagedForFarm>;
  promote(options: { expectedKid: string; keepPrevious: boolean }): Promise<HmacPromotion & { keys: KeyIds }>;
  readonly lock: FarmLock;
  /** The farm's users, changed here (the author) and replicated to the publishes. */
  readonly users: MemberUsers;
  readonly provisioning: MemberProvisioning;
}

export function createFarmMember(deps: FarmMemberDeps): FarmMember {
  const { crypto } = deps;
  const lock = createFarmLock(deps);
  const keyOf = (id: string): MemberKey => {
    const bytes = crypto.verificationKey(id);
    return { id, fingerprint: bytes ? fingerprint(bytes) : null };
  };

  return {
    lock,
    users: createMemberUsers(deps),
    provisioning: createMemberProvisioning(deps),
    async describe() {
      const ids = crypto.keyIds();
      const stored = await loadKeySet(deps.home.keysDir, deps.repo).catch(() => null);
      const masterFingerprint = stored && keyId(stored.master) === ids.master ? fingerprint(stored.master) : null;
      const agents = await replicationStatus(deps);
      const received = await deps.receiver.sources();
      return {
        instance: deps.instanceName(),
        role: configuredAgents(deps.config).length > 0 ? 'author' : 'publish',
        keys: {
          storage: ids.storage,
          master: { id: ids.master, fingerprint: masterFingerprint },
          hmac: keyOf(ids.hmac),
          stagedHmac: ids.stagedHmac ? keyOf(ids.stagedHmac) : null,
          retiredHmac: ids.retiredHmac.map(keyOf),
        },
        users: await deps.users.countUsers(),
        replication: {
          outboxHead: await deps.repo.readCounter(OUTBOX_COUNTER),
          agents: agents.map((agent) => ({
            name: agent.name,
            queued: agent.queued,
            lastDeliveredSequence: agent.lastDeliveredSequence,
            deliveredThrough: agent.deliveredThrough,
            lagSeconds: agent.lagSeconds,
            lastError: agent.lastError,
          })),
          received: received.map((source) => ({ source: source.source, lastSequence: source.lastSequence, appliedAt: source.appliedAt?.toISOString() ?? null })),
        },
        lock: await lock.read(),
      };
    },
    async stage(source = {}) {
      const signing = crypto.signingKey();
      let key: Buffer;
      if (source.sealed) key = openSealedKey(source.sealed, (kid) => crypto.verificationKey(kid), signing.kid);
      else if (source.kid) {
        const held = crypto.verificationKey(source.kid);
        if (!held) throw new CapsuleError('KEY_MISSING', `this member does not hold hmac ${source.kid}; nothing was changed`);
        key = held;
      } else {
        const stagedKid = crypto.keyIds().stagedHmac;
        key = (stagedKid ? crypto.verificationKey(stagedKid) : undefined) ?? generateKey();
      }
      // As `keys rotate` does: one key command at a time on a home, and none that changes one author of a shared repository alone.
      refuseRotationOnSharedRepository(deps.repo, 'farm rotate-hmac (stage)');
      const result = await withKeyOperationLock(deps.home, 'farm rotate-hmac (stage)', () => stageHmacKey(deps.home, deps.repo, key));
      const keys = await deps.reloadKeys();
      return { staged: result.staged, changed: result.changed, sealed: sealKey(key, signing), keys, message: result.message };
    },
    async promote(options) {
      refuseRotationOnSharedRepository(deps.repo, 'farm rotate-hmac (promote)');
      const result = await withKeyOperationLock(deps.home, 'farm rotate-hmac (promote)', () => promoteStagedHmacKey(deps.home, deps.repo, { ...options, now: deps.clock.now() }));
      const keys = await deps.reloadKeys();
      return { ...result, keys };
    },
  };
}
