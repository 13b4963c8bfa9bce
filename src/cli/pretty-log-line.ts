import { terminalText } from './terminal-text.js';

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** What every line has, or what the prefix already says: not repeated after the message. */
const SHOWN_ELSEWHERE = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

function valueText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value !== null && typeof value === 'object' && 'message' in value && typeof (value as { message: unknown }).message === 'string') {
    return JSON.stringify((value as { message: string }).message); // an error: its message; the stack is in the JSON output
  }
  return JSON.stringify(value);
}

/**
 * One line of a farm process's output as a person reads it on a terminal: a pino JSON line becomes
 * `HH:MM:SS.mmm LEVEL [name] message key=value …` (UTC, as the JSON's time); any other line (HAProxy's)
 * is `[name] line`. Control characters a member logged (a user id, say) are shown escaped.
 */
export function prettyLogLine(name: string, line: string): string {
  let entry: Record<string, unknown> | null = null;
  if (line.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed !== null && typeof parsed === 'object' && typeof (parsed as { msg?: unknown }).msg === 'string') entry = parsed as Record<string, unknown>;
    } catch {
      entry = null; // not JSON after all: shown as it is
    }
  }
  if (entry === null) return terminalText(`[${name}] ${line}`);
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '--:--:--.---';
  const level = (LEVELS[entry.level as number] ?? String(entry.level)).padEnd(5);
  const fields = Object.entries(entry)
    .filter(([key]) => !SHOWN_ELSEWHERE.has(key))
    .map(([key, value]) => `${key}=${valueText(value)}`);
  return terminalText([`${time} ${level} [${name}] ${entry.msg as string}`, ...fields].join(' '));
}
