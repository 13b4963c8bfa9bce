export { startInstance } from './instance.js';
export type { InstanceOptions, RunningInstance } from './instance.js';
export { openServices } from './services.js';
export type { OpenServicesOptions, Services } from './services.js';
export { DEFAULT_HOME, homeHasRepository, homeLayout, resolveHome } from './home.js';
export type { HomeLayout } from './home.js';
export { createLogger, silentLogger } from './logger.js';
export type { Logger, LoggerOptions } from './logger.js';
export { COMPONENTS } from './components.js';
