import { terminalText } from './terminal-text.js';

/** What a command may touch of the outside world; tests and library users pass their own. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** All of standard input as text. */
  readStdin(): Promise<string>;
  readonly env: NodeJS.ProcessEnv;
  readonly stdinIsTTY: boolean;
  /** Whether standard output is a terminal (a person reads it): `farm up` writes readable lines then, else JSON lines. */
  readonly stdoutIsTTY?: boolean;
}

export function processIO(): CliIO {
  return {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    env: process.env,
    stdinIsTTY: process.stdin.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
  };
}

export function printJson(io: CliIO, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/** Columns padded to their widest cell; a cell's control characters are shown escaped (terminal-text.ts). */
export function printTable(io: CliIO, header: readonly string[], shownRows: ReadonlyArray<readonly string[]>): void {
  const rows = shownRows.map((row) => row.map(terminalText));
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  io.out([line(header), ...rows.map(line)].join('\n'));
}
