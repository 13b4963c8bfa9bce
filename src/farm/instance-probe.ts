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

/** Asks a running instance (directly, not through the load balancer) for its health and the key ids it has loaded. */
export async function probeInstance(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<InstanceProbe> {
  let body: unknown;
  try {
    const response = await fetch(`${url}/system/health`, { signal: AbortSignal.timeout(timeoutMs) });
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
