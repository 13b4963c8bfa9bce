import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CapsuleError } from '../errors.js';

/**
 * `$[env:NAME]` and `$[secret:NAME]` as the whole value of a secret property (AEM as a Cloud
 * Service's syntax): resolved each time the secret is used, from the environment or from the
 * file NAME in the folder CAPSULE_SECRETS_DIR names (a mounted Kubernetes Secret). The
 * configuration holds the reference, never the secret. Only secret properties accept them: a
 * reference anywhere else would copy the server's environment into whatever shows that
 * property (a provider's title on the public login page), so it is refused when written and a
 * value stored before is taken literally. And only variables meant for them (`forbiddenReason`):
 * whoever writes a client secret also chooses where it is sent.
 */
const REFERENCE = /\$\[(env|secret):([A-Za-z_][A-Za-z0-9_.-]*)\]/g;

export interface ConfigReference {
  /** As written: `$[env:NAME]`. */
  readonly text: string;
  readonly kind: 'env' | 'secret';
  readonly name: string;
}

/** What reference syntax begins with: a secret holding it and anything more is refused, not guessed at. */
const REFERENCE_START = /\$\[(env|secret):/;
const WHOLE_REFERENCE = new RegExp(`^${REFERENCE.source}$`);

/** The reference a secret value is, when the whole value is one; null for a secret stored as is. */
export function wholeReference(value: string): ConfigReference | null {
  const match = WHOLE_REFERENCE.exec(value);
  return match ? { text: value, kind: match[1] as 'env' | 'secret', name: match[2]! } : null;
}

/** Reference syntax that is not a whole reference (`S3cr3t-$[env:HOME]`, `$[env:A B]`): refused in a secret. */
export function isPartialReference(value: string): boolean {
  return REFERENCE_START.test(value) && wholeReference(value) === null;
}


const DEFAULT_REFERENCE_PREFIX = 'SECRET_';
/**
 * Variables Capsule, PostgreSQL's client and Node read themselves (grep process.env): never a
 * reference's, whatever CAPSULE_REFERENCE_PREFIX says, or whoever may write a client secret could
 * send the keys passphrase or the database password to a token endpoint of their choosing.
 */
const OWN_VARIABLES = /^(CAPSULE_|PG|NODE_|NPM_)/i;
const OWN_NAMES = new Set(['HOME', 'USER', 'PATH', 'SUDO_USER', 'SSH_CLIENT']);

/** The prefix of the variables references may name: CAPSULE_REFERENCE_PREFIX, else SECRET_. */
function referencePrefix(env: NodeJS.ProcessEnv): string {
  return env.CAPSULE_REFERENCE_PREFIX?.trim() || DEFAULT_REFERENCE_PREFIX;
}

/**
 * Why a reference may not be resolved at all, or null when it may: an environment variable must
 * begin with the reference prefix (an allowlist the operator sets, so a variable nobody meant for
 * it, such as a cloud credential, is out of reach) and never be one of Capsule's own. Files are
 * only ever read from CAPSULE_SECRETS_DIR, a folder that exists for references.
 */
export function forbiddenReason(reference: ConfigReference, env: NodeJS.ProcessEnv): string | null {
  if (reference.kind !== 'env') return null;
  if (OWN_VARIABLES.test(reference.name) || OWN_NAMES.has(reference.name)) {
    return "one of Capsule's own or PostgreSQL's variables (CAPSULE_*, PG*, NODE_*, HOME, …), which a reference never names";
  }
  const prefix = referencePrefix(env);
  if (!reference.name.startsWith(prefix)) {
    return `which does not begin with ${prefix} (CAPSULE_REFERENCE_PREFIX): a reference names only a variable meant for it`;
  }
  return null;
}

/** The references in a value (each element of a list), in order. */
export function referencesIn(value: unknown): ConfigReference[] {
  const texts = typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  return texts.flatMap((text) => [...text.matchAll(REFERENCE)].map(([match, kind, name]) => ({ text: match, kind: kind as 'env' | 'secret', name: name! })));
}

/** Where a reference reads from, for people: `environment variable NAME`. */
export function referenceSource(reference: ConfigReference): string {
  return reference.kind === 'env' ? `environment variable ${reference.name}` : `secret file ${reference.name} (in CAPSULE_SECRETS_DIR)`;
}

/** Why a reference does not resolve in `env`, or null when it does. A variable set but empty is not set. */
export function unresolvedReason(reference: ConfigReference, env: NodeJS.ProcessEnv): string | null {
  if (reference.kind === 'env') return env[reference.name] ? null : 'which is not set in the environment';
  const dir = env.CAPSULE_SECRETS_DIR;
  if (!dir) return 'but CAPSULE_SECRETS_DIR is not set (the folder where secrets are mounted)';
  try {
    readFileSync(join(dir, reference.name));
    return null;
  } catch (error) {
    return `which is not in ${dir} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`;
  }
}

/**
 * What a whole-value reference gives, in `env`. `what` names the secret in the error
 * (`client.secret of analytics`), which names the reference, never a value. A reference that is
 * forbidden is not even looked up: the component that uses it fails closed.
 */
export function resolveReference(what: string, reference: ConfigReference, env: NodeJS.ProcessEnv = process.env): string {
  const forbidden = forbiddenReason(reference, env);
  if (forbidden !== null) throw new CapsuleError('INVALID_CONFIG', `${what} references ${reference.text}, ${forbidden}`);
  if (reference.kind === 'env') {
    const value = env[reference.name];
    if (value) return value;
  } else if (env.CAPSULE_SECRETS_DIR) {
    try {
      return readFileSync(join(env.CAPSULE_SECRETS_DIR, reference.name), 'utf8').replace(/\r?\n$/, '');
    } catch {
      // said below, with the reason
    }
  }
  throw new CapsuleError('INVALID_CONFIG', `${what} references ${reference.text}, ${unresolvedReason(reference, env) ?? 'which did not resolve'}`);
}
