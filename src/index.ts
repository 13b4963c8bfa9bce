// Capsule as a library: the same services the server and the CLI are built from.
export { CapsuleError, ERROR_CODES, isCapsuleError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { fixedClock, systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { checkPath, openSqliteRepository } from './repository/index.js';
export type {
  Properties,
  PropertyValue,
  Repository,
  RepositoryInfo,
  RepositoryNode,
  RepositoryReader,
  RepositoryWriter,
  SqliteRepositoryOptions,
} from './repository/index.js';
export { ADMINISTRATORS, checkId, createArgon2Hasher, createUserManager } from './users/index.js';
export type { Group, PasswordHasher, User, UserManager } from './users/index.js';
export { applyConfigFiles, createConfigAdmin, defineComponent, property } from './config/index.js';
export type { ComponentDefinition, ConfigAdmin, ConfigValue, ConfigValues, SecretProtector } from './config/index.js';
export { createHealthRegistry } from './health/index.js';
export type { HealthCheck, HealthRegistry, HealthStatus, HealthSummary } from './health/index.js';
export { TOKEN_PID, tokenComponent } from './auth/token-config.js';
export { createLogger, homeLayout, openServices, resolveHome, startInstance } from './instance/index.js';
export type { HomeLayout, InstanceOptions, RunningInstance, Services } from './instance/index.js';
