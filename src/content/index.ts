export { checkContentPath, CONTENT_ROOT, createContentService, MAX_DEPTH } from './content-service.js';
export type { ContentJson, ContentService, ContentServiceOptions, JsonValue, Reader } from './content-service.js';
