export { createHealthRegistry, worstOf } from './registry.js';
export type { HealthCheck, HealthDetails, HealthRegistry, HealthResult, HealthStatus, HealthSummary } from './registry.js';
export { KEYS_CHECK, keysCheck } from './keys-check.js';
export { REPOSITORY_CHECK, REPOSITORY_UNAVAILABLE_MESSAGE, repositoryCheck } from './repository-check.js';
export { healthComponent, HEALTH_PID } from './health-config.js';
export { watchFactoryChecks } from './factory-checks.js';
export type { FactoryChecks } from './factory-checks.js';
export { FARM_STORE_CHECK, farmStoreCheck } from './farm-store-check.js';
export { SESSIONS_CHECK, sessionsCheck } from './sessions-check.js';
