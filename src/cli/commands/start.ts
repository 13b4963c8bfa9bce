import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import type { KeyStorageMode } from '../../crypto/index.js';
import { CapsuleError } from '../../errors.js';
import { readTlsFiles } from '../../http/tls.js';
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
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly accessLog?: boolean;
}

export const DEFAULT_PORT = 4502;

function parseKeyStorage(text: string | undefined): KeyStorageMode | undefined {
  if (text === undefined || text === 'file' || text === 'repository') return text;
  throw new CapsuleError('INVALID_ARGUMENT', `--key-storage '${text}' is neither 'file' nor 'repository'`);
}

/** An address, or a name this machine resolves: checked before a new home is made for nothing. */
async function checkHost(host: string, source: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  // Digits and dots, or colons, that are no address are a typo, not a name to look up.
  const refuse = () => new CapsuleError('INVALID_ARGUMENT', `${source} '${host}' is neither an IP address nor a name this machine can resolve`);
  if (/^[0-9.]+$/.test(host) || host.includes(':')) throw refuse();
  try {
    await lookup(host);
    return host;
  } catch {
    throw refuse();
  }
}

/** Runs an instance in the foreground until SIGTERM or SIGINT. */
export async function start(options: StartOptions, io: CliIO): Promise<void> {
  const port = options.port !== undefined
    ? parsePort(options.port, '--port')
    : io.env.CAPSULE_PORT !== undefined
      ? parsePort(io.env.CAPSULE_PORT, 'CAPSULE_PORT')
      : DEFAULT_PORT;
  const keyStorage = parseKeyStorage(options.keyStorage);
  const host = await checkHost(options.host ?? io.env.CAPSULE_HOST ?? '127.0.0.1', options.host === undefined && io.env.CAPSULE_HOST !== undefined ? 'CAPSULE_HOST' : '--host');
  const tlsCert = options.tlsCert ?? io.env.CAPSULE_TLS_CERT;
  const tlsKey = options.tlsKey ?? io.env.CAPSULE_TLS_KEY;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new CapsuleError('INVALID_ARGUMENT', 'give both --tls-cert FILE and --tls-key FILE (or CAPSULE_TLS_CERT and CAPSULE_TLS_KEY), or neither');
  }
  const tls = tlsCert !== undefined && tlsKey !== undefined ? readTlsFiles(tlsCert, tlsKey) : undefined;
  const { createLogger, startInstance } = await import('../../instance/index.js');
  const logger = createLogger();
  const instance = await startInstance({
    home: resolveHome(options.home, io.env),
    port,
    host,
    tls,
    name: options.name,
    logger,
    env: io.env,
    keyStorage,
    repositoryUrl: options.repository ?? io.env.CAPSULE_REPOSITORY_URL,
    accessLog: options.accessLog === true,
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
    .option('--host <host>', 'address to listen on (default: $CAPSULE_HOST or 127.0.0.1)')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (chain) (default: $CAPSULE_TLS_CERT); needs --tls-key')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert (default: $CAPSULE_TLS_KEY)')
    .option('--name <name>', 'instance name in X-Capsule-Instance (default: host:port)')
    .option('--access-log', 'log one line per request (message "request": method, path without the query, status, ms, request id, client address)')
    .option('--key-storage <where>', "where a new home keeps its keys: 'file' (default) or 'repository' (legacy, or shared by an author cluster)")
    .option(
      '--repository <url>',
      'put a new home on PostgreSQL: postgres://USER[:PASSWORD]@HOST:PORT/DATABASE (default: $CAPSULE_REPOSITORY_URL); the home remembers it without the password',
    )
    .action((options: StartOptions) => start(options, io));
}
