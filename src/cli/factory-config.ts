import type { ConfigValue, SecretDescription } from '../config/index.js';
import { CapsuleError } from '../errors.js';
import type { HealthStatus } from '../health/index.js';
import type { Services } from '../instance/services.js';
import { CheckFailed } from './check-failed.js';
import { printJson, type CliIO } from './io.js';
import { referenceWarningLine, referenceWarnings } from './reference-warnings.js';
import { withHome, type HomeOptions, type JsonOption } from './with-home.js';

/**
 * What the commands of a factory configuration with a secret share (`oauth add|list|check|remove`,
 * `oidc …`): one configuration per NAME under one factory PID.
 */
export interface FactoryKind {
  /** How a person names one: `OAuth client`, `OpenID provider`. */
  readonly noun: string;
  /** `oauth`, `oidc`: the command group, for the hints. */
  readonly command: string;
}

/** The secret from standard input, without the line break that `echo` or a here-string adds. */
export async function readSecretFromStdin(io: CliIO, what = 'client secret'): Promise<string> {
  const secret = (await io.readStdin()).replace(/\r?\n$/, '');
  if (secret.length === 0) throw new CapsuleError('INVALID_ARGUMENT', `standard input held no ${what}`);
  return secret;
}

export function checkHttpUrl(option: string, text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new CapsuleError('INVALID_ARGUMENT', `${option} '${text}' is not an http or https URL`);
  return text;
}

/**
 * Adds (or with `update`, changes) the configuration `pid` and prints what was done; returns
 * nothing. `secretKeyId` reads back the master key id the stored secret was encrypted with.
 */
export async function saveFactoryConfig(
  kind: FactoryKind,
  name: string,
  options: HomeOptions & { readonly update?: boolean; readonly secretGiven: boolean },
  io: CliIO,
  write: {
    pid: string;
    changes: Record<string, ConfigValue | null>;
    secretKeyId: (services: Services) => string | null;
    /** Refuses (throws) before anything is written, e.g. a name another kind of configuration holds. */
    check?: (services: Services) => void;
  },
): Promise<void> {
  const { keyId, warnings } = await withHome(options, io, async (s) => {
    const exists = s.config.stored(write.pid) !== null;
    if (exists && !options.update) throw new CapsuleError('INVALID_ARGUMENT', `${kind.noun} ${name} exists; change it with --update`);
    if (!exists && options.update) throw new CapsuleError('CONFIG_NOT_FOUND', `no ${kind.noun} ${name} to update; add it without --update`);
    write.check?.(s);
    await s.config.update(write.pid, write.changes);
    return { keyId: write.secretKeyId(s), warnings: referenceWarnings(s, write.pid, io.env) };
  });
  const protectedWith = options.secretGiven && keyId ? ` (client secret encrypted with master key ${keyId})` : '';
  io.out(`${options.update ? 'updated' : 'added'} ${kind.noun} ${name}${protectedWith}; test it with 'capsule ${kind.command} check ${name}'`);
  if (warnings.length > 0) io.err(referenceWarningLine(warnings));
}

export async function removeFactoryConfig(kind: FactoryKind, name: string, pid: string, options: HomeOptions, io: CliIO): Promise<void> {
  await withHome(options, io, async (s) => {
    if (!(await s.config.delete(pid))) throw new CapsuleError('CONFIG_NOT_FOUND', `no ${kind.noun} ${name}; nothing to remove`);
  });
}

/** The SECRET column of a listing: never the secret, only whether it is set and under which key. */
export function secretCell(secret: SecretDescription): string {
  if (!secret.set) return 'not set';
  if (secret.reference !== undefined) return `from ${secret.reference}`;
  if (secret.keyId === null) return 'set, in clear';
  return `set, master key ${secret.keyId}${secret.keyPresent === false ? " (not this instance's)" : ''}`;
}

/** Prints check results one a line (or as JSON); exit 1 when one is critical. */
export function reportChecks(kind: FactoryKind, results: ReadonlyArray<{ status: HealthStatus; message: string }>, options: JsonOption, io: CliIO): void {
  if (options.json) printJson(io, results);
  else if (results.length === 0) io.out(`no ${kind.noun}s; add one with 'capsule ${kind.command} add'`);
  else {
    const mark = { ok: 'ok      ', warn: 'WARN    ', critical: 'CRITICAL' };
    io.out(results.map((result) => `${mark[result.status]} ${result.message}`).join('\n'));
  }
  const failed = results.filter((result) => result.status === 'critical').length;
  if (failed > 0) throw new CheckFailed(`${failed} of ${results.length} ${kind.noun} check${results.length === 1 ? '' : 's'} failed`);
}
