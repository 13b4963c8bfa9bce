import { defineComponent, property, type ConfigValues } from '../config/index.js';
import { CapsuleError } from '../errors.js';

export const OAUTH_CLIENT_PID = 'capsule.oauth.client';

export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

const NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

export const oauthClientComponent = defineComponent({
  pid: OAUTH_CLIENT_PID,
  title: 'OAuth Client (IMS configuration)',
  description:
    'An outbound integration that gets access tokens with the client-credentials grant. The client secret is encrypted with the master key; a health check proves it still decrypts and still authenticates.',
  factory: true,
  properties: {
    'token.endpoint': property.url({
      title: 'Token endpoint',
      description: "The provider's token endpoint (http or https URL).",
      required: true,
    }),
    'client.id': property.string({
      title: 'Client id',
      description: 'The client id the provider issued.',
      required: true,
    }),
    'client.secret': property.secret({
      title: 'Client secret',
      description: 'Encrypted with the master key when written; never shown.',
      required: true,
    }),
    scope: property.string({
      title: 'Scope',
      description: "Space-separated scopes to ask for; empty for the provider's default.",
    }),
    audience: property.string({
      title: 'Audience',
      description: 'Sent as the audience parameter, for providers that need one; empty for none.',
    }),
    'auth.method': property.choice(AUTH_METHODS, {
      title: 'Client authentication',
      description: 'client_secret_basic: HTTP Basic authorization header; client_secret_post: client_id and client_secret in the form body.',
      default: 'client_secret_basic',
    }),
  },
});

/** One configuration's values, typed. The secret stays as stored (protected). */
export interface OAuthClientSettings {
  readonly name: string;
  readonly pid: string;
  readonly tokenEndpoint: string;
  readonly clientId: string;
  /** As stored: a protected value `{cap1:…}`, or null when none is set. */
  readonly storedSecret: string | null;
  readonly scope: string | null;
  readonly audience: string | null;
  readonly authMethod: AuthMethod;
}

export function checkClientName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new CapsuleError('INVALID_ARGUMENT', `'${name}' is not an OAuth client name: use letters, digits, '.', '_' and '-'`);
  }
  return name;
}

export function oauthClientPid(name: string): string {
  return `${OAUTH_CLIENT_PID}~${checkClientName(name)}`;
}

/** The NAME of `capsule.oauth.client~NAME`, or null for any other PID. */
export function clientNameOf(pid: string): string | null {
  const prefix = `${OAUTH_CLIENT_PID}~`;
  return pid.startsWith(prefix) && pid.length > prefix.length ? pid.slice(prefix.length) : null;
}

function text(values: ConfigValues, key: string): string | null {
  const value = values[key];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

export function oauthClientSettings(name: string, values: ConfigValues): OAuthClientSettings {
  const method = values['auth.method'];
  return {
    name,
    pid: oauthClientPid(name),
    tokenEndpoint: text(values, 'token.endpoint') ?? '',
    clientId: text(values, 'client.id') ?? '',
    storedSecret: typeof values['client.secret'] === 'string' && values['client.secret'] !== '' ? values['client.secret'] : null,
    scope: text(values, 'scope'),
    audience: text(values, 'audience'),
    authMethod: method === 'client_secret_post' ? 'client_secret_post' : 'client_secret_basic',
  };
}

/** The endpoint as it may appear in messages: no user info, query or fragment. */
export function displayEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
