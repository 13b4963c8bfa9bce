export { buildApp } from './app.js';
export type { AppDeps } from './app.js';
export { STATUS_OF } from './error-status.js';
