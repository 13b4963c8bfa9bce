export { checkPid, CONFIG_COUNTER, CONFIG_ROOT, createConfigAdmin } from './config-admin.js';
export type { ConfigAdminDeps } from './config-admin.js';
export { HTTP_PID } from './component-pids.js';
export { applyConfigFiles, readConfigFiles } from './config-files.js';
export {
  acceptsReferences,
  DEFAULT_REFERENCE_PREFIX,
  forbiddenReason,
  hasReference,
  isPartialReference,
  literalReferences,
  referencePrefix,
  referencesIn,
  referenceSource,
  resolveReference,
  unresolvedReferences,
  wholeReference,
} from './references.js';
export type { ConfigReference } from './references.js';
export { describeSecret, revealSecret } from './secret-values.js';
export type { SecretDescription } from './secret-values.js';
export { defineComponent, parseText, property } from './schema.js';
export type { ComponentDefinition, ConfigValue, ConfigValues, PropertyDefinition, PropertyKind } from './schema.js';
export type { ConfigAdmin, ConfigListener, SecretProtector, StoredConfiguration } from './types.js';
