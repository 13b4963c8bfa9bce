export { createOutbox, OUTBOX_COUNTER, OUTBOX_ROOT } from './outbox.js';
export type { Outbox, OutboxEntry } from './outbox.js';
export { createReceiver, RECEIVED_ROOT } from './receiver.js';
export { sessionEndsToOutbox } from './session-ends.js';
export type { Receiver, ReceiveResult } from './receiver.js';
export {
  describeItem,
  LOCAL_GROUPS,
  LOCAL_USERS,
  MAX_PACKAGE_BYTES,
  PACKAGE_ITEMS,
  parsePackage,
  REPLICATION_RECEIVERS,
} from './package.js';
export type { ReplicationItem, ReplicationPackage } from './package.js';
export { AGENT_PID, agentPid, checkAgentName, configuredAgents, replicationAgentComponent } from './agent-config.js';
export type { AgentSettings } from './agent-config.js';
export { readAgentState } from './agent-state.js';
export type { AgentState } from './agent-state.js';
export { agentCheckName, pruneOutbox, removeAgent, requestResync, requestRetry, startReplication } from './replication-service.js';
export type { ReplicationService, ReplicationServiceDeps } from './replication-service.js';
export { replicationStatus } from './status.js';
export type { AgentStatus } from './status.js';
