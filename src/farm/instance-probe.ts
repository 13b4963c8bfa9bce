import { z } from 'zod';
import { KEYS_CHECK } from '../health/index.js';

const PROBE_TIMEOUT_MS = 1500;

const healthSchema = z.object({
  instance: z.string(),
  status: z.enum(['ok', 'warn', 'critical']),
  checks: z.array(z.object({ name: z.string(), details: z.record(z.string(), z.unknown()).optional() })),
});

const loadedKeysSchema = z.object({
  master: z.string(),
  hmac: z.string(),
  stagedHmac: z.string().nullable(),
});

export type LoadedKeys = z.infer<typeof loadedKeysSchema>;

export type InstanceProbe =
  | { readonly running: true; readonly name: string; readonly health: 'ok' | 'warn' | 'critical'; readonly keys: LoadedKeys | null }
  | { readonly running: false; readonly reason: string };

export interface AdminCredentials {
  readonly user: string;
  readonly password: string;
}

export type InstanceProber = (url: string, timeoutMs?: number) => Promise<InstanceProbe>;

async function logIn(url: string, credentials: AdminCredentials, timeoutMs: number): Promise<string | null> {
  const response = await fetch(`${url}/j_security_check`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ j_username: credentials.user, j_password: credentials.password }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  await response.arrayBuffer();
  for (const cookie of response.headers.getSetCookie()) {
    const value = /^[^=]+=([^;]+)/.exec(cookie)?.[1];
    if (response.ok && value) return decodeURIComponent(value);
  }
  return null;
}

/**
 * Asks running instances (directly, not through the load balancer) for their health and the key
 * ids they have loaded. Those details are for administrators: with credentials the prober logs
 * in once per instance and keeps the token; without, it learns whether the instance runs.
 */
export function createInstanceProber(credentials?: AdminCredentials): InstanceProber {
  const tokens = new Map<string, string>();
  return async (url, timeoutMs = PROBE_TIMEOUT_MS) => {
    try {
      if (credentials && !tokens.has(url)) {
        const token = await logIn(url, credentials, timeoutMs);
        if (token) tokens.set(url, token);
      }
    } catch {
      // Not running, or not answering: the health request below says which.
    }
    const probe = await probeInstance(url, timeoutMs, tokens.get(url));
    if (probe.running && credentials && probe.keys === null) tokens.delete(url); // the token ended: log in again next time
    return probe;
  };
}

/** One look at a running instance; `token` (an administrator's) adds the key ids it has loaded. */
export async function probeInstance(url: string, timeoutMs = PROBE_TIMEOUT_MS, token?: string): Promise<InstanceProbe> {
  let body: unknown;
  try {
    const response = await fetch(`${url}/system/health`, { signal: AbortSignal.timeout(timeoutMs), headers: token ? { 'login-token': token } : {} });
    body = await response.json();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    return { running: false, reason: cause === 'ECONNREFUSED' ? 'not running' : `no answer (${cause})` };
  }
  const health = healthSchema.safeParse(body);
  if (!health.success) return { running: false, reason: 'answers, but not as a Capsule instance' };
  const keys = loadedKeysSchema.safeParse(health.data.checks.find((check) => check.name === KEYS_CHECK)?.details);
  return { running: true, name: health.data.instance, health: health.data.status, keys: keys.success ? keys.data : null };
}
