export { consoleRoutes } from './routes.js';
export type { ConsoleDeps, ConsoleServices } from './types.js';
