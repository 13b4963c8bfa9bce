export { buildApp } from './app.js';
export type { AppDeps } from './app.js';
export { STATUS_OF } from './error-status.js';
export { createTrustedProxies, httpComponent, HTTP_PID } from './trusted-proxies.js';
export type { TrustedProxies } from './trusted-proxies.js';
export { CROSS_ORIGIN_REFUSED, requestOrigin } from './origin-check.js';
