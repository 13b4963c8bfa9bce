import { Writable } from 'node:stream';
import pino from 'pino';

/** A pino logger whose lines (JSON text) a test reads back: what an instance logged, in order. */
export function capturedLogger(level: pino.Level = 'debug'): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}
