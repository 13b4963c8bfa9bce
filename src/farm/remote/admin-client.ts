import { readFileSync, statSync } from 'node:fs';
import { CapsuleError } from '../../errors.js';
import { isSafeForCredentials } from '../../support/loopback.js';
import type { FarmMemberEntry } from './manifest.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export interface AdminCredentials {
  readonly user: string;
  /** The administrator's password: used only when no API key is given. */
  readonly password?: string;
  /** An operator's admin API key (`capsule admin keys create`): no login, so no failed login of anyone's locks it out. */
  readonly apiKey?: string;
  /** Send the password or key over plain http to members that are not on this machine (`--allow-plain-http`). */
  readonly allowPlainHttp?: boolean;
}

/** A file's text without its final newline; it must be private to its owner, like a key file. */
function privateFileText(option: string, file: string): string {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    throw new CapsuleError('INVALID_ARGUMENT', `${option} ${file}: no such file`);
  }
  if ((mode & 0o077) !== 0) {
    throw new CapsuleError('INVALID_ARGUMENT', `${option} ${file} is readable by others (mode ${(mode & 0o777).toString(8)}); run 'chmod 600 ${file}'`);
  }
  const text = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  if (!text) throw new CapsuleError('INVALID_ARGUMENT', `${option} ${file} is empty`);
  return text;
}

/**
 * The operator's admin API key, from `--api-key-file` (mode 0600) or else `CAPSULE_ADMIN_API_KEY`;
 * never a plain argument, which `ps` would show. Undefined when neither is given. The value is never
 * repeated in a message.
 */
export function adminApiKey(options: { apiKeyFile?: string; env: NodeJS.ProcessEnv }): string | undefined {
  const key = options.apiKeyFile !== undefined ? privateFileText('--api-key-file', options.apiKeyFile).trim() : options.env.CAPSULE_ADMIN_API_KEY?.trim() || undefined;
  if (key !== undefined && !/^cap_ak_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/.test(key)) {
    const where = options.apiKeyFile !== undefined ? `--api-key-file ${options.apiKeyFile}` : 'CAPSULE_ADMIN_API_KEY';
    throw new CapsuleError('INVALID_ARGUMENT', `${where} holds no admin API key (one looks like cap_ak_<16 hex digits>_<43 characters>, as 'capsule admin keys create' prints it)`);
  }
  return key;
}

/**
 * How the farm commands sign in to every member: the operator's API key when one is given
 * (`--api-key-file` or `CAPSULE_ADMIN_API_KEY`), else the admin password: from
 * `--admin-password-file` (which must be private to its owner, like a key file) or else
 * `CAPSULE_ADMIN_PASSWORD`.
 */
export function adminCredentials(options: {
  user?: string;
  passwordFile?: string;
  apiKeyFile?: string;
  /** The password even when a key is given: for a command that also needs it for itself (`farm add-instance` makes a home with it). */
  passwordOnly?: boolean;
  allowPlainHttp?: boolean;
  env: NodeJS.ProcessEnv;
}): AdminCredentials {
  const user = options.user ?? 'admin';
  const allowPlainHttp = options.allowPlainHttp === true;
  const apiKey = options.passwordOnly ? undefined : adminApiKey(options);
  if (apiKey !== undefined) return { user, apiKey, allowPlainHttp };
  if (options.passwordFile !== undefined) return { user, password: privateFileText('--admin-password-file', options.passwordFile), allowPlainHttp };
  const password = options.env.CAPSULE_ADMIN_PASSWORD;
  if (!password) {
    throw new CapsuleError('INVALID_ARGUMENT', 'no admin password: set CAPSULE_ADMIN_PASSWORD or give --admin-password-file FILE (mode 0600); or sign in with an API key: --api-key-file FILE (mode 0600) or CAPSULE_ADMIN_API_KEY');
  }
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

/** A 429 to the admin's login: the password may be right; the member (or a load balancer before it) counts attempts. */
function limitingSignIns(member: FarmMemberEntry, retryAfter: string | null): CapsuleError {
  const seconds = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter.trim()) : null;
  const when = seconds === null ? 'retry later' : `retry in ${seconds} s`;
  return new CapsuleError(
    'TOO_MANY_REQUESTS',
    `${member.name} (${member.url}) is limiting sign-in attempts (HTTP 429); ${when}, or sign in with an admin API key, which no failed login can lock out ('capsule farm admin-keys create NAME', then --api-key-file FILE); nothing was changed there`,
  );
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

  const refusePlainHttp = (what: string) => {
    // The same rule as the replication transport's: the password or key in clear only on this machine.
    if (!credentials.allowPlainHttp && !isSafeForCredentials(new URL(member.url))) {
      throw new CapsuleError(
        'INVALID_ARGUMENT',
        `${member.name} (${member.url}) is plain http: the ${what} is sent only over https (plain http only to a loopback address); serve the member with 'capsule start --tls-cert … --tls-key …' and write https in the manifest, or pass --allow-plain-http on a network you trust; nothing was sent`,
      );
    }
  };

  const logIn = async (): Promise<string> => {
    refusePlainHttp('admin password');
    const response = await send('/j_security_check', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ j_username: credentials.user, j_password: credentials.password ?? '' }),
    });
    await response.arrayBuffer();
    if (!response.headers.get('x-capsule-instance')) {
      throw new CapsuleError('FARM_MEMBER_UNREACHABLE', `${member.name} (${member.url}) answers, but not as a Capsule instance; fix its URL in the manifest`);
    }
    if (response.status === 429) throw limitingSignIns(member, response.headers.get('retry-after'));
    const value = response.headers.getSetCookie().map((cookie) => /^[^=]+=([^;]*)/.exec(cookie)?.[1]).find((cookie) => cookie);
    if (!response.ok || !value) {
      throw new CapsuleError(
        'UNAUTHENTICATED',
        `${member.name} (${member.url}) refused the login of ${credentials.user} (HTTP ${response.status}): check CAPSULE_ADMIN_PASSWORD or --admin-password-file`,
      );
    }
    return decodeURIComponent(value);
  };

  const sendWithKey = async (apiKey: string, method: string, path: string, body?: object): Promise<Response> => {
    refusePlainHttp('admin API key');
    const response = await send(path, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body && { 'content-type': 'application/json' }) },
      body: body && JSON.stringify(body),
    });
    if (response.status === 401) {
      await response.arrayBuffer();
      throw new CapsuleError(
        'UNAUTHENTICATED',
        `${member.name} (${member.url}) refused the admin API key (HTTP 401: revoked, expired or not made there); 'capsule admin keys list' on that member shows its keys; nothing was changed there`,
      );
    }
    return response;
  };

  const call = async <T>(method: string, path: string, body?: object): Promise<T> => {
    const response = credentials.apiKey !== undefined ? await sendWithKey(credentials.apiKey, method, path, body) : await callWithPassword(method, path, body);
    return answerOf<T>(response, method, path);
  };

  const callWithPassword = async (method: string, path: string, body?: object): Promise<Response> => {
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
    return response;
  };

  const answerOf = async <T>(response: Response, method: string, path: string): Promise<T> => {
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
