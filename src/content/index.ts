export { checkContentPath, createContentService, MAX_DEPTH } from './content-service.js';
export type { ContentJson, ContentService, ContentServiceOptions, JsonValue } from './content-service.js';
export { accessRuleOf, ALLOWED_GROUPS, CONTENT_ROOT, contentAncestors, sameAccessRule } from './access-rules.js';
export type { AccessRule, AccessRuleOutbox, Reader } from './access-rules.js';
