export { addFarmInstance } from './add-instance.js';
export type { AddedInstance } from './add-instance.js';
export { renderLoadBalancer } from './haproxy-config.js';
export type { LoadBalancerShape } from './haproxy-config.js';
export { DEFAULT_LOGINS_PER_MINUTE, loginRateLimit, parseHaproxyPeer } from './haproxy-login-limit.js';
export type { HaproxyPeer, LoginRateLimit } from './haproxy-login-limit.js';
export { findHaproxy } from './haproxy-binary.js';
export { writeCheckedHaproxyConfig } from './checked-haproxy-file.js';
export { AUTHOR_NAME, DEFAULT_LOAD_BALANCER_PORT, DEFAULT_MEMBER_PORT, initFarm } from './init.js';
export type { InitFarmOptions, InitFarmResult } from './init.js';
export { DEFAULT_HEALTH_CHECK, farmCredentials, farmPaths, MAX_PUBLISHERS, readFarmManifest, readLocalFarm } from './local-farm.js';
export type { FarmPaths, HealthCheckSettings, LocalFarm, LocalMember, LocalSettings } from './local-farm.js';
export { renderLocalHaproxyConfig } from './local-haproxy.js';
export { restartFarmMember } from './restart-member.js';
export type { RestartedMember } from './restart-member.js';
export { DEFAULT_RESTART, runFarm } from './supervisor.js';
export type { RestartPolicy, RunFarmOptions } from './supervisor.js';
export {
  adminCredentials,
  changeFarmUser,
  listFarmUsers,
  createFarmAdminKey,
  listFarmAdminKeys,
  revokeFarmAdminKey,
  DEFAULT_HAPROXY_OPTIONS,
  parseBind,
  DEFAULT_LOCK_LEASE_MS,
  FARM_FORMAT_V2,
  parseManifestV2,
  readManifestV2,
  remoteFarmStatus,
  remoteRotateHmac,
  renderRemoteHaproxyConfig,
  listFarmSessions,
  revokeAllFarmSessions,
  revokeFarmSession,
} from './remote/index.js';
export type {
  AdminCredentials,
  FarmAdminKeyCreated,
  FarmManifestV2,
  FarmMemberEntry,
  FarmUserList,
  FarmUserOperation,
  FarmUserQuery,
  FarmUserOptions,
  FarmUserResult,
  RemoteFarmStatus,
  RemoteHaproxyOptions,
  RemoteHmacRotation,
  RemoteMemberStatus,
  RemoteRotateOptions,
  FarmSessionList,
  FarmSessionRevoked,
  FarmSessionsEnded,
  FarmSessionView,
  MemberSessionsOutcome,
} from './remote/index.js';
