import { fetchFrom } from '../support/fetch-from.js';
import { isSafeForCredentials } from '../support/loopback.js';
import type { ReplicationPackage } from './package.js';

/** What the publish said to one package. */
export type DeliveryAnswer =
  | { readonly ok: true; readonly outcome: 'applied' | 'duplicate' }
  | { readonly ok: false; readonly status: number | null; readonly message: string; readonly expected?: number };

export interface Transport {
  send(pkg: ReplicationPackage): Promise<DeliveryAnswer>;
}

const TIMEOUT_MS = 30_000;

function errorMessage(body: unknown, status: number): string {
  const error = body && typeof body === 'object' ? (body as { error?: { message?: unknown } }).error : undefined;
  const message = typeof error?.message === 'string' ? error.message.slice(0, 300) : '(no message)';
  return `HTTP ${status}: ${message}`;
}

async function bodyOf(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/**
 * Posts packages to a publish's `/bin/receive` as the transport user: logs in through the
 * login endpoint once, then sends its token in the `login-token` header, logging in again
 * when the publish no longer accepts it. The password is read when needed and never logged.
 */
export function createHttpTransport(options: {
  url: string;
  user: string;
  password: () => string;
  signal?: AbortSignal;
  /** The address the connections leave from (support/fetch-from.ts); the system's choice without it. */
  localAddress?: string;
}): Transport {
  const send = options.localAddress === undefined ? fetch : fetchFrom(options.localAddress);
  const signal = () => (options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(TIMEOUT_MS)]) : AbortSignal.timeout(TIMEOUT_MS));
  let token: string | null = null;

  async function login(): Promise<DeliveryAnswer | null> {
    if (!isSafeForCredentials(new URL(options.url))) {
      return { ok: false, status: null, message: `${new URL(options.url).origin} is plain http: the transport password is sent only over https (plain http only to a loopback address); use an https URL` };
    }
    const response = await send(`${options.url}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ j_username: options.user, j_password: options.password() }),
      signal: signal(),
      redirect: 'manual',
    });
    if (response.status !== 200) {
      return { ok: false, status: response.status, message: `login as ${options.user} refused: ${errorMessage(await bodyOf(response), response.status)}` };
    }
    await response.arrayBuffer();
    const cookie = response.headers.getSetCookie()[0];
    const value = cookie ? /^[^=]+=([^;]*)/.exec(cookie)?.[1] : undefined;
    if (!value) return { ok: false, status: response.status, message: 'the publish answered the login without a token cookie' };
    token = decodeURIComponent(value);
    return null;
  }

  async function post(pkg: ReplicationPackage): Promise<Response> {
    return send(`${options.url}/bin/receive`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'login-token': token ?? '' },
      body: JSON.stringify(pkg),
      signal: signal(),
      redirect: 'manual',
    });
  }

  return {
    async send(pkg) {
      try {
        if (!token) {
          const refused = await login();
          if (refused) return refused;
        }
        let response = await post(pkg);
        if (response.status === 401) {
          await response.arrayBuffer();
          token = null;
          const refused = await login();
          if (refused) return refused;
          response = await post(pkg);
        }
        const body = await bodyOf(response);
        if (response.ok) {
          const outcome = (body as { outcome?: unknown } | null)?.outcome;
          return { ok: true, outcome: outcome === 'duplicate' ? 'duplicate' : 'applied' };
        }
        const expected = (body as { expected?: unknown } | null)?.expected;
        return { ok: false, status: response.status, message: errorMessage(body, response.status), ...(typeof expected === 'number' ? { expected } : {}) };
      } catch (error) {
        if (options.signal?.aborted) throw error; // stopping: nothing to record about the publish
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        const detail = cause?.code ?? cause?.message ?? (error as Error).message;
        return { ok: false, status: null, message: `publish unreachable: ${detail}`.slice(0, 300) };
      }
    },
  };
}
