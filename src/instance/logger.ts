import pino, { type Logger } from 'pino';
import { CapsuleError } from '../errors.js';
import { requestIdMixin } from '../http/request-id.js';

export type { Logger };

/** Paths that never reach a log line, whatever a caller passes. */
export const REDACTED_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["login-token"]',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
];

export interface LoggerOptions {
  readonly level?: string;
  /** Human-readable lines (default: when standard output is a terminal); JSON otherwise. */
  readonly pretty?: boolean;
  readonly destination?: NodeJS.WritableStream;
}

/** pino's levels, most to least verbose. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

function checkedLevel(level: string, source: string): string {
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level;
  throw new CapsuleError('INVALID_ARGUMENT', `${source} '${level}' is not a log level; use one of ${LOG_LEVELS.join(', ')} (default info)`);
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level =
    options.level !== undefined
      ? checkedLevel(options.level, 'the log level')
      : process.env.CAPSULE_LOG_LEVEL
        ? checkedLevel(process.env.CAPSULE_LOG_LEVEL, 'CAPSULE_LOG_LEVEL')
        : 'info';
  const pretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY === true);
  // Every line written while a request is served carries its id (`reqId`), whichever logger wrote it.
  const base = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, mixin: requestIdMixin };
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard', ignore: 'pid,hostname' } } });
  }
  return options.destination ? pino(base, options.destination as pino.DestinationStream) : pino(base);
}

/** The logger name of the audit trail: one JSON line per security-relevant event, never a secret. */
export const AUDIT_LOGGER_NAME = 'audit';

/** The audit trail of an instance: the same output, told apart by `"name":"audit"`. */
export function auditLogger(logger: Logger): Logger {
  return logger.child({ name: AUDIT_LOGGER_NAME });
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
