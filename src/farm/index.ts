export { addFarmInstance } from './add-instance.js';
export type { AddedInstance } from './add-instance.js';
export { addFarmUser, removeFarmUser, setFarmUserPassword } from './farm-users.js';
export type { FarmUserChange } from './farm-users.js';
export { renderHaproxyConfig } from './haproxy-config.js';
export { findHaproxy } from './haproxy-binary.js';
export { DEFAULT_LOAD_BALANCER_PORT, initFarm } from './init.js';
export type { InitFarmOptions, InitFarmResult } from './init.js';
export { DEFAULT_HEALTH_CHECK, farmPaths, instancesOf, MAX_INSTANCES, readManifest } from './manifest.js';
export type { FarmInstance, FarmManifest, FarmPaths, HealthCheckSettings } from './manifest.js';
export { DEFAULT_LOAD_WAIT_MS, rotateFarmHmac } from './rotate-hmac.js';
export type { FarmHmacRotation, RotateFarmHmacOptions } from './rotate-hmac.js';
export { farmStatus } from './status.js';
export type { FarmStatus, InstanceStatus } from './status.js';
export { runFarm } from './supervisor.js';
export type { RunFarmOptions } from './supervisor.js';
export {
  adminCredentials,
  DEFAULT_HAPROXY_OPTIONS,
  DEFAULT_LOCK_LEASE_MS,
  FARM_FORMAT_V2,
  parseManifestV2,
  readManifestV2,
  remoteFarmStatus,
  remoteRotateHmac,
  renderRemoteHaproxyConfig,
} from './remote/index.js';
export type { AdminCredentials, FarmManifestV2, FarmMemberEntry, RemoteFarmStatus, RemoteHaproxyOptions, RemoteHmacRotation, RemoteMemberStatus, RemoteRotateOptions } from './remote/index.js';
