// Capsule as a library: the same services the server and the CLI are built from.
export { CapsuleError, ERROR_CODES, isCapsuleError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { fixedClock, systemClock } from './clock.js';
export type { Clock } from './clock.js';
export type { Log } from './log.js';
export { checkPath, copyRepository, MAX_TRANSACTION_ATTEMPTS, openPostgresRepository, openSqliteRepository } from './repository/index.js';
export type {
  CopyResult,
  PostgresRepositoryOptions,
  Properties,
  PropertyValue,
  Repository,
  RepositoryBackend,
  RepositoryInfo,
  RepositoryNode,
  RepositoryReader,
  RepositoryWriter,
  SqliteRepositoryOptions,
} from './repository/index.js';
export { ADMINISTRATORS, checkId, createArgon2Hasher, createUserManager } from './users/index.js';
export type { Group, PasswordHasher, User, UserManager } from './users/index.js';
export { applyConfigFiles, createConfigAdmin, defineComponent, describeSecret, property, revealSecret } from './config/index.js';
export type { ComponentDefinition, ConfigAdmin, ConfigValue, ConfigValues, SecretDescription, SecretProtector } from './config/index.js';
export { createHealthRegistry } from './health/index.js';
export type { HealthCheck, HealthRegistry, HealthStatus, HealthSummary } from './health/index.js';
export { TOKEN_PID, tokenComponent } from './auth/token-config.js';
export { createTokenHandler, tokenSettings } from './auth/index.js';
export { tokenAuthPlugin } from './http/index.js';
export { createOidcLogin, createProvisioner, OIDC_PID, oidcComponent, OidcLoginError, oidcPid, watchOidcChecks } from './auth/oidc/index.js';
export type { OidcLogin, OidcLoginDeps, OidcSettings, Provisioner, ProvisioningClaim } from './auth/oidc/index.js';
export type { Authentication, Session, TokenHandler, TokenKind, TokenSettings, TokenRequest as AuthTokenRequest } from './auth/index.js';
export {
  createBundle,
  createCryptoSupport,
  diagnoseKeys,
  importKeys,
  loadKeySet,
  migrateKeys,
  openBundle,
  prepareKeys,
  rotateHmacKey,
  rotateMasterKey,
} from './crypto/index.js';
export type { CryptoSupport, DoctorReport, KeyIds, KeySet, KeyStorageMode } from './crypto/index.js';
export { createContentService } from './content/index.js';
export type { ContentService } from './content/index.js';
export { createBackup, restoreBackup } from './backup/index.js';
export type { BackupResult, CreateBackupOptions, RestoreOptions, RestoreResult } from './backup/index.js';
export {
  createOAuthClients,
  OAUTH_CLIENT_PID,
  OAuthTokenError,
  oauthClientCheck,
  oauthClientComponent,
  oauthClientPid,
  requestClientCredentials,
  watchOAuthClientChecks,
} from './oauth/index.js';
export type {
  AccessToken,
  AuthMethod,
  OAuthCheckResult,
  OAuthClients,
  OAuthClientSettings,
  OAuthClientsDeps,
  OAuthErrorDetails,
  TokenRequest,
  TokenRequestOptions,
} from './oauth/index.js';
export {
  createOutbox,
  createReceiver,
  parsePackage,
  REPLICATION_RECEIVERS,
  replicationAgentComponent,
  replicationStatus,
  requestResync,
  requestRetry,
  startReplication,
} from './replication/index.js';
export type { AgentStatus, Outbox, Receiver, ReceiveResult, ReplicationItem, ReplicationPackage, ReplicationService, ReplicationServiceDeps } from './replication/index.js';
export { createLogger, homeLayout, openServices, resolveHome, startInstance } from './instance/index.js';
export type { HomeLayout, InstanceOptions, RunningInstance, Services } from './instance/index.js';
export { addFarmInstance, initFarm, runFarm } from './farm/index.js';
export type { AddedInstance, InitFarmOptions, InitFarmResult, RunFarmOptions } from './farm/index.js';
export { adminCredentials, changeFarmUser, readManifestV2, remoteFarmStatus, remoteRotateHmac, renderRemoteHaproxyConfig } from './farm/index.js';
export type { AdminCredentials, FarmManifestV2, FarmUserOperation, FarmUserResult, RemoteFarmStatus, RemoteHmacRotation } from './farm/index.js';
