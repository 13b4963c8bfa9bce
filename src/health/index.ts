export { createHealthRegistry, worstOf } from './registry.js';
export type { HealthCheck, HealthRegistry, HealthResult, HealthStatus, HealthSummary } from './registry.js';
export { repositoryCheck } from './repository-check.js';
export { healthComponent, HEALTH_PID } from './health-config.js';
