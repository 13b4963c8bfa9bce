import type { Command } from 'commander';
import type { KeyStorageMode } from '../../crypto/index.js';
import { CapsuleError } from '../../errors.js';
import { resolveHome } from '../../instance/home.js';
import { parsePort } from '../arguments.js';
import type { CliIO } from '../io.js';
import { homeOption } from '../with-home.js';

export interface StartOptions {
  readonly home?: string;
  readonly port?: string;
  readonly host?: string;
  readonly name?: string;
  readonly keyStorage?: string;
  readonly repository?: string;
}

export const DEFAULT_PORT = 4502;

function parseKeyStorage(text: string | undefined): KeyStorageMode | undefined {
  if (text === undefined || text === 'file' || text === 'repository') return text;
  throw new CapsuleError('INVALID_ARGUMENT', `--key-storage '${text}' is neither 'file' nor 'repository'`);
}

/** Runs an instance in the foreground until SIGTERM or SIGINT. */
export async function start(options: StartOptions, io: CliIO): Promise<void> {
  const port = options.port !== undefined
    ? parsePort(options.port, '--port')
    : io.env.CAPSULE_PORT !== undefined
      ? parsePort(io.env.CAPSULE_PORT, 'CAPSULE_PORT')
      : DEFAULT_PORT;
  const keyStorage = parseKeyStorage(options.keyStorage);
  const { createLogger, startInstance } = await import('../../instance/index.js');
  const logger = createLogger();
  const instance = await startInstance({
    home: resolveHome(options.home, io.env),
    port,
    host: options.host ?? '127.0.0.1',
    name: options.name,
    logger,
    env: io.env,
    keyStorage,
    repositoryUrl: options.repository ?? io.env.CAPSULE_REPOSITORY_URL,
  });
  const reload = () => void instance.reloadKeys().catch(() => undefined); // logged by the instance
  process.on('SIGHUP', reload);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'stopping');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.off('SIGHUP', reload);
      void instance.stop().then(resolve, resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  logger.flush();
}

export function registerStartCommand(program: Command, io: CliIO): void {
  homeOption(program.command('start').description('start an instance in the foreground (creates the home on first start)'))
    .option('--port <port>', `port to listen on (default: $CAPSULE_PORT or ${DEFAULT_PORT})`)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--name <name>', 'instance name in X-Capsule-Instance (default: host:port)')
    .option('--key-storage <where>', "where a new home keeps its keys: 'file' (default) or 'repository' (legacy, or shared by an author cluster)")
    .option(
      '--repository <url>',
      'put a new home on PostgreSQL: postgres://USER[:PASSWORD]@HOST:PORT/DATABASE (default: $CAPSULE_REPOSITORY_URL); the home remembers it without the password',
    )
    .action((options: StartOptions) => start(options, io));
}
