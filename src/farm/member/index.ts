export { createFarmMember } from './member-service.js';
export type { FarmMember, FarmMemberDeps, MemberInfo, MemberKey, StagedForFarm } from './member-service.js';
export { createFarmLock, FARM_LOCK_NODE, MAX_LEASE_MS } from './farm-lock.js';
export type { FarmLock, FarmLockState, LockGrant } from './farm-lock.js';
export { openSealedKey, sealKey, sealedKeySchema, SEALED_KEY_FORMAT } from './sealed-key.js';
export type { SealedKey } from './sealed-key.js';
