/**
 * The part of a logger that services below the composition root write to: pino's methods and
 * argument order (fields first, then the message), so `instance/` hands them its pino logger, or
 * the audit trail (the child logger named `audit`), and tests a `capturedLogger`.
 */
export interface Log {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}
