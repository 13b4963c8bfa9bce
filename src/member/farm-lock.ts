import type { Clock } from '../clock.js';
import { CapsuleError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { MAX_LEASE_MS, type FarmLockState, type LockGrant } from './protocol.js';

/**
 * The farm lock, kept in the author's repository: one farm command that changes keys at a time.
 * It is a lease the holder renews while it works; a holder that dies (killed, its machine gone)
 * lets it lapse, and the next run takes it over together with the rotation it was doing.
 */
export const FARM_LOCK_NODE = '/var/farm/lock';

export interface FarmLock {
  read(): Promise<FarmLockState | null>;
  /** Takes or renews the lock; FARM_LOCKED while another holder's lease runs. */
  acquire(holder: string, leaseMs: number, rotation?: string): Promise<LockGrant>;
  /** Lets go; false when `holder` did not hold it (nothing changed). */
  release(holder: string): Promise<boolean>;
}

function stateOf(properties: Readonly<Record<string, unknown>>): FarmLockState {
  return {
    holder: String(properties.holder ?? ''),
    expiresAt: new Date(Number(properties.expiresAt ?? 0)).toISOString(),
    rotation: String(properties.rotation ?? ''),
  };
}

export function createFarmLock(deps: { repo: Repository; clock: Clock }): FarmLock {
  const { repo, clock } = deps;
  return {
    async read() {
      const node = await repo.getNode(FARM_LOCK_NODE);
      if (!node) return null;
      const state = stateOf(node.properties);
      return Date.parse(state.expiresAt) > clock.now() ? state : null;
    },
    acquire(holder, leaseMs, rotation) {
      if (!holder || holder.length > 200) throw new CapsuleError('INVALID_ARGUMENT', 'holder: give who takes the lock (1 to 200 characters)');
      if (!Number.isInteger(leaseMs) || leaseMs < 1000 || leaseMs > MAX_LEASE_MS) {
        throw new CapsuleError('INVALID_ARGUMENT', `leaseMs: give a whole number of milliseconds from 1000 to ${MAX_LEASE_MS}`);
      }
      return repo.transaction(async (tx) => {
        const now = clock.now();
        const node = await tx.getNode(FARM_LOCK_NODE);
        const existing = node ? stateOf(node.properties) : null;
        const live = existing !== null && Date.parse(existing.expiresAt) > now;
        if (live && existing.holder !== holder) {
          throw new CapsuleError(
            'FARM_LOCKED',
            `the farm is locked by ${existing.holder} until ${existing.expiresAt}${existing.rotation ? ` (rotating to hmac ${existing.rotation})` : ''}; wait for it to finish, or run again after that time if it was stopped`,
          );
        }
        const kept = existing && (live || existing.holder === holder) ? existing.rotation : '';
        const next = { holder, expiresAt: now + leaseMs, rotation: rotation ?? (existing?.holder === holder ? kept : '') };
        if (node) await tx.setProperties(FARM_LOCK_NODE, next);
        else await tx.addNode(FARM_LOCK_NODE, { properties: next });
        const tookOver = existing && !live && existing.holder !== holder ? existing : null;
        return { holder, expiresAt: new Date(next.expiresAt).toISOString(), rotation: next.rotation, tookOver };
      });
    },
    release(holder) {
      return repo.transaction(async (tx) => {
        const node = await tx.getNode(FARM_LOCK_NODE);
        if (!node || stateOf(node.properties).holder !== holder) return false;
        await tx.removeNode(FARM_LOCK_NODE);
        return true;
      });
    },
  };
}
