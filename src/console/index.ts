export { consoleRoutes } from './routes.js';
export { escapeHtml, html, SafeHtml } from './html.js';
export { STYLESHEET_PATH } from './stylesheet.js';
export type { ConsoleDeps, ConsoleServices } from './types.js';
export { CSRF_FIELD, csrfTokenFor, effectiveLoginToken, isValidCsrfToken } from './csrf.js';
export { sessionTable } from './session-table.js';
