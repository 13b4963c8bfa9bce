import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CapsuleError } from '../../errors.js';

/** Where a PostgreSQL repository is, as a URL names it; the password is kept apart from the rest. */
export interface PostgresLocation {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** The password from the URL, if it had one. Never printed. */
  readonly password?: string;
  /** Query parameters such as sslmode, kept as given. */
  readonly params: Readonly<Record<string, string>>;
  /** The URL without the password: safe to show, log and store in the home. */
  readonly display: string;
}

export function isPostgresUrl(text: string): boolean {
  return /^postgres(ql)?:\/\//i.test(text);
}

/** Parses `postgres://user[:password]@host[:port]/database[?sslmode=…]`; defaults as psql has them. */
export function parsePostgresUrl(text: string, env: NodeJS.ProcessEnv = process.env): PostgresLocation {
  let url: URL;
  try {
    if (!isPostgresUrl(text)) throw new Error('not a postgres URL');
    url = new URL(text);
  } catch {
    // The text may hold a password: never repeat it.
    throw new CapsuleError('INVALID_ARGUMENT', "the repository URL is not of the form postgres://USER@HOST:PORT/DATABASE");
  }
  const host = decodeURIComponent(url.hostname.replace(/^\[|\]$/g, '')) || env.PGHOST || 'localhost';
  const port = url.port ? Number(url.port) : env.PGPORT ? Number(env.PGPORT) : 5432;
  const user = decodeURIComponent(url.username) || env.PGUSER || 'postgres';
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || env.PGDATABASE || user;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new CapsuleError('INVALID_ARGUMENT', `the repository URL names port ${url.port || env.PGPORT}, which is not a port`);
  }
  const params: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    if (name === 'password') continue; // a password in the query is still a password
    params[name] = value;
  }
  const password = url.password ? decodeURIComponent(url.password) : url.searchParams.get('password') ?? undefined;
  const query = new URLSearchParams(params).toString();
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const display = `postgres://${encodeURIComponent(user)}@${hostPart}:${port}/${encodeURIComponent(database)}${query ? `?${query}` : ''}`;
  return { host, port, database, user, password, params, display };
}

/** The same database as the same user: the password does not matter. */
export function sameLocation(a: PostgresLocation, b: PostgresLocation): boolean {
  return a.host === b.host && a.port === b.port && a.database === b.database && a.user === b.user;
}

/** "host H, port P, database D": how an error names the place it could not reach. */
export function describeLocation(location: PostgresLocation): string {
  return `host ${location.host}, port ${location.port}, database ${location.database}`;
}

/**
 * The password as psql finds it: from the URL, else PGPASSWORD, else the first matching line
 * of ~/.pgpass (or PGPASSFILE), which must not be readable by group or others.
 */
export function passwordFor(location: PostgresLocation, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (location.password !== undefined) return location.password;
  if (env.PGPASSWORD) return env.PGPASSWORD;
  const file = env.PGPASSFILE || join(env.HOME || homedir(), '.pgpass');
  let text: string;
  try {
    if ((statSync(file).mode & 0o077) !== 0) return undefined; // as libpq: ignored when others may read it
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const fields = splitPgpassLine(line);
    if (fields.length < 5) continue;
    const [host, port, database, user] = fields;
    const wanted = [location.host, String(location.port), location.database, location.user];
    if ([host, port, database, user].every((field, index) => field === '*' || field === wanted[index])) return fields[4];
  }
  return undefined;
}

function splitPgpassLine(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (char === '\\' && i + 1 < line.length) current += line[++i];
    else if (char === ':' && fields.length < 4) {
      fields.push(current);
      current = '';
    } else current += char;
  }
  fields.push(current);
  return fields;
}
