export { createFarmMember } from './member-service.js';
export type { FarmMember } from './member-service.js';
export { FARM_LOCK_NODE } from './farm-lock.js';
export { openSealedKey, sealKey } from './sealed-key.js';
export { createMemberProvisioning } from './member-provisioning.js';
export type { NewAgent } from './member-provisioning.js';
export { newKeyExchange } from './key-exchange.js';
