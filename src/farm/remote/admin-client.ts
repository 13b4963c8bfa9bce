import { readFileSync, statSync } from 'node:fs';
import { CapsuleError } from '../../errors.js';
import { isSafeForCredentials } from '../../support/loopback.js';
import type { FarmMemberEntry } from './manifest.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export interface AdminCredentials {
  readonly user: string;
  readonly password: string;
  /** Send the password over plain http to members that are not on this machine (`--allow-plain-http`). */
  readonly allowPlainHttp?: boolean;
}

/**
 * The admin password: from `--admin-password-file` (which must be private to its owner, like a
 * key file) or else `CAPSULE_ADMIN_PASSWORD`.
 */
export function adminCredentials(options: { user?: string; passwordFile?: string; allowPlainHttp?: boolean; env: NodeJS.ProcessEnv }): AdminCredentials {
  const user = options.user ?? 'admin';
  const allowPlainHttp = options.allowPlainHttp === true;
  if (options.passwordFile !== undefined) {
    let mode: number;
    try {
      mode = statSync(options.passwordFile).mode;
    } catch {
      throw new CapsuleError('INVALID_ARGUMENT', `--admin-password-file ${options.passwordFile}: no such file`);
    }
    if ((mode & 0o077) !== 0) {
      throw new CapsuleError('INVALID_ARGUMENT', `--admin-password-file ${options.passwordFile} is readable by others (mode ${(mode & 0o777).toString(8)}); run 'chmod 600 ${options.passwordFile}'`);
    }
    const password = readFileSync(options.passwordFile, 'utf8').replace(/\r?\n$/, '');
    if (!password) throw new CapsuleError('INVALID_ARGUMENT', `--admin-password-file ${options.passwordFile} is empty`);
    return { user, password, allowPlainHttp };
  }
  const password = options.env.CAPSULE_ADMIN_PASSWORD;
  if (!password) throw new CapsuleError('INVALID_ARGUMENT', 'no admin password: set CAPSULE_ADMIN_PASSWORD or give --admin-password-file FILE (mode 0600)');
  return { user, password, allowPlainHttp };
}

/** One member's admin API, logged in once as the farm's administrator. */
export interface MemberClient {
  readonly member: FarmMemberEntry;
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: object): Promise<T>;
}

function unreachable(member: FarmMemberEntry, error: unknown, method: string): CapsuleError {
  const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
  const why = cause === 'ECONNREFUSED' ? 'connection refused' : cause === 'TimeoutError' ? 'no answer in time' : cause;
  // A change that was sent but not answered may have been made: say so rather than promise it was not.
  const outcome = method === 'GET' || cause === 'ECONNREFUSED' ? 'nothing was changed there' : "what was asked may or may not have been done there; 'capsule farm status' shows where it stands";
  return new CapsuleError('FARM_MEMBER_UNREACHABLE', `${member.name} (${member.url}) does not answer (${why}); start it or fix its URL in the manifest; ${outcome}`);
}

export function memberClient(member: FarmMemberEntry, credentials: AdminCredentials, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): MemberClient {
  let token: string | undefined;

  const send = async (path: string, init: RequestInit): Promise<Response> => {
    try {
      return await fetch(`${member.url}${path}`, { ...init, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw unreachable(member, error, init.method ?? 'GET');
    }
  };

  const logIn = async (): Promise<string> => {
    // The same rule as the replication transport's: the password in clear only on this machine.
    if (!credentials.allowPlainHttp && !isSafeForCredentials(new URL(member.url))) {
      throw new CapsuleError(
        'INVALID_ARGUMENT',
        `${member.name} (${member.url}) is plain http: the admin password is sent only over https (plain http only to a loopback address); serve the member with 'capsule start --tls-cert … --tls-key …' and write https in the manifest, or pass --allow-plain-http on a network you trust; nothing was sent`,
      );
    }
    const response = await send('/j_security_check', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ j_username: credentials.user, j_password: credentials.password }),
    });
    await response.arrayBuffer();
    if (!response.headers.get('x-capsule-instance')) {
      throw new CapsuleError('FARM_MEMBER_UNREACHABLE', `${member.name} (${member.url}) answers, but not as a Capsule instance; fix its URL in the manifest`);
    }
    const value = response.headers.getSetCookie().map((cookie) => /^[^=]+=([^;]*)/.exec(cookie)?.[1]).find((cookie) => cookie);
    if (!response.ok || !value) {
      throw new CapsuleError(
        'UNAUTHENTICATED',
        `${member.name} (${member.url}) refused the login of ${credentials.user} (HTTP ${response.status}): check CAPSULE_ADMIN_PASSWORD or --admin-password-file`,
      );
    }
    return decodeURIComponent(value);
  };

  const call = async <T>(method: string, path: string, body?: object): Promise<T> => {
    const loggedInBefore = token !== undefined;
    token ??= await logIn();
    const sendAs = (loginToken: string) =>
      send(path, { method, headers: { 'login-token': loginToken, ...(body && { 'content-type': 'application/json' }) }, body: body && JSON.stringify(body) });
    let response = await sendAs(token);
    if (response.status === 401 && loggedInBefore) {
      // The member no longer takes the token it gave (its key was dropped by `rotate-hmac
      // --discard-old`, or the token expired). A 401 comes before the route acts: log in again, ask once more.
      await response.arrayBuffer();
      token = await logIn();
      response = await sendAs(token);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CapsuleError('FARM_MEMBER_UNREACHABLE', `${member.name} (${member.url}) answered ${method} ${path} with HTTP ${response.status} and no JSON; is it a Capsule instance of this version?`);
    }
    if (response.ok) return json as T;
    const error = (json as { error?: { code?: string; message?: string } }).error;
    const code = error?.code;
    const known = [
      'UNAUTHENTICATED',
      'FORBIDDEN',
      'FARM_LOCKED',
      'KEY_CONFLICT',
      'KEY_MISSING',
      'KEY_MISMATCH',
      'INVALID_ARGUMENT',
      'INVALID_ID',
      'PROTECTED_VALUE_INVALID',
      'USER_EXISTS',
      'USER_NOT_FOUND',
      'GROUP_NOT_FOUND',
      'CONFIG_NOT_FOUND',
    ] as const;
    const isKnown = (known as readonly string[]).includes(code ?? '');
    const mapped = isKnown ? (code as (typeof known)[number]) : response.status === 404 ? 'FARM_MEMBER_UNREACHABLE' : 'CHECK_FAILED';
    const hint = response.status === 404 && !isKnown ? ' (no farm admin API there: upgrade the member)' : '';
    throw new CapsuleError(mapped, `${member.name} (${member.url}): ${error?.message ?? `HTTP ${response.status}`}${hint}`);
  };

  return {
    member,
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
  };
}
