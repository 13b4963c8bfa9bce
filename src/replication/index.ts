export { createOutbox, OUTBOX_COUNTER, OUTBOX_ROOT } from './outbox.js';
export type { Outbox, OutboxEntry } from './outbox.js';
export { createReceiver, RECEIVED_ROOT } from './receiver.js';
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
export type { ReplicationItem, ReplicationPackage, UserState } from './package.js';
