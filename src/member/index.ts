export { createFarmMember } from './member-service.js';
export type { FarmMember, FarmMemberDeps } from './member-service.js';
export { createFarmLock, FARM_LOCK_NODE } from './farm-lock.js';
export type { FarmLock } from './farm-lock.js';
export { openSealedKey, sealKey } from './sealed-key.js';
export { createMemberUsers } from './member-users.js';
export type { MemberUsers } from './member-users.js';
export { createMemberProvisioning } from './member-provisioning.js';
export type { MemberProvisioning, NewAgent } from './member-provisioning.js';
export { newKeyExchange } from './key-exchange.js';
export type { KeyExchange } from './key-exchange.js';
export {
  agentBody,
  addUserBody,
  exportBody,
  FARM_AGENTS_PATH,
  FARM_HMAC_PROMOTE_PATH,
  FARM_HMAC_STAGE_PATH,
  FARM_KEYS_EXPORT_PATH,
  FARM_LOCK_PATH,
  FARM_MEMBER_PATH,
  FARM_UNLOCK_PATH,
  FARM_USERS_PASSWD_PATH,
  FARM_USERS_PATH,
  FARM_USERS_REMOVE_PATH,
  lockBody,
  MAX_LEASE_MS,
  passwdBody,
  promoteBody,
  publicKeySchema,
  removeUserBody,
  SEALED_KEY_FORMAT,
  sealedKeySchema,
  stageBody,
  unlockBody,
} from './protocol.js';
export type { ExportedKeys, FarmLockState, LockGrant, MemberInfo, MemberKey, MemberUserChange, SealedKey, StagedForFarm } from './protocol.js';
