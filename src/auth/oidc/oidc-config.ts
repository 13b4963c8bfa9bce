import { defineComponent, property, type ConfigValues } from '../../config/index.js';
import { CapsuleError } from '../../errors.js';
import { parseGroupMap } from '../group-map.js';

export { parseGroupMap };

export const OIDC_PID = 'capsule.auth.oidc';

/** Signature algorithms an ID token may be signed with; `none` and HMAC are never accepted. */
export const ID_TOKEN_ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
export type IdTokenAlg = (typeof ID_TOKEN_ALGS)[number];

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

export const oidcComponent = defineComponent({
  pid: OIDC_PID,
  title: 'OpenID Connect login',
  description:
    'Single sign-on through an OpenID provider: the authorization code flow with PKCE, users created on first login. The client secret is encrypted with the master key; a health check proves discovery, the provider keys and the secret.',
  factory: true,
  properties: {
    issuer: property.safeUrl({ title: 'Issuer', description: "The provider's issuer URL (https; plain http only to a loopback address); its discovery document is at <issuer>/.well-known/openid-configuration.", required: true }),
    'client.id': property.string({ title: 'Client id', description: 'The client id the provider issued.', required: true }),
    'client.secret': property.secret({ title: 'Client secret', description: 'Encrypted with the master key when written; never shown.', required: true }),
    title: property.string({ title: 'Title', description: "Shown on the login page as 'Sign in with <title>'; empty for the name." }),
    scope: property.string({ title: 'Scope', description: 'Space-separated scopes to ask for.', default: 'openid profile email' }),
    'user.id.claim': property.string({ title: 'User id claim', description: 'The ID token claim whose value becomes the Capsule user id.', default: 'sub' }),
    'groups.claim': property.string({ title: 'Groups claim', description: 'The ID token claim that lists the groups; empty for none.', default: 'groups' }),
    'group.map': property.stringList({
      title: 'Group map',
      description: "Provider group = Capsule group, e.g. 'idp-editors=editors' (or 'editors=editors'). Provider groups not in the map are ignored.",
      default: [],
    }),
    'default.groups': property.stringList({ title: 'Default groups', description: 'Groups every user of this provider is a member of.', default: [] }),
    'id.token.alg': property.choice(ID_TOKEN_ALGS, { title: 'ID token algorithm', description: 'The one signature algorithm accepted on ID tokens.', default: 'RS256' }),
    'external.url': property.string({
      title: 'External URL',
      description: "The site's base URL as browsers see it (behind a proxy), e.g. https://www.example.com; empty to take it from the request.",
    }),
    'provisioning.max.age.seconds': property.integer({
      title: 'Provisioning window (s)',
      description:
        'How long after a sign-in the provisioning claim in a token may create the user on an instance that has never seen it (0: never). Past it, such an instance refuses the token and the person signs in again.',
      default: 900,
      min: 0,
    }),
  },
});

export interface OidcSettings {
  readonly name: string;
  readonly pid: string;
  readonly issuer: string;
  readonly clientId: string;
  /** As stored: a protected value `{cap1:…}`, or null. */
  readonly storedSecret: string | null;
  readonly title: string;
  readonly scope: string;
  readonly userIdClaim: string;
  readonly groupsClaim: string | null;
  /** Provider group → Capsule group. */
  readonly groupMap: ReadonlyMap<string, string>;
  readonly defaultGroups: readonly string[];
  readonly idTokenAlg: IdTokenAlg;
  readonly externalUrl: string | null;
  readonly provisioningMaxAgeSeconds: number;
}

export function checkProviderName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new CapsuleError('INVALID_ARGUMENT', `'${name}' is not an OpenID provider name: use up to 32 letters, digits, '_' and '-'`);
  }
  return name;
}

export function oidcPid(name: string): string {
  return `${OIDC_PID}~${checkProviderName(name)}`;
}

/** The NAME of `capsule.auth.oidc~NAME`, or null for any other PID. */
export function providerNameOf(pid: string): string | null {
  const prefix = `${OIDC_PID}~`;
  return pid.startsWith(prefix) && NAME_PATTERN.test(pid.slice(prefix.length)) ? pid.slice(prefix.length) : null;
}

function text(values: ConfigValues, key: string): string | null {
  const value = values[key];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

function list(values: ConfigValues, key: string): string[] {
  const value = values[key];
  return Array.isArray(value) ? value.map((item: string) => item.trim()).filter((item: string) => item !== '') : [];
}

export function oidcSettings(name: string, values: ConfigValues): OidcSettings {
  const alg = values['id.token.alg'];
  const maxAge = values['provisioning.max.age.seconds'];
  return {
    name,
    pid: oidcPid(name),
    issuer: text(values, 'issuer') ?? '',
    clientId: text(values, 'client.id') ?? '',
    storedSecret: typeof values['client.secret'] === 'string' && values['client.secret'] !== '' ? values['client.secret'] : null,
    title: text(values, 'title') ?? name,
    scope: text(values, 'scope') ?? 'openid',
    userIdClaim: text(values, 'user.id.claim') ?? 'sub',
    groupsClaim: text(values, 'groups.claim'),
    groupMap: parseGroupMap(list(values, 'group.map')),
    defaultGroups: list(values, 'default.groups'),
    idTokenAlg: (ID_TOKEN_ALGS as readonly unknown[]).includes(alg) ? (alg as IdTokenAlg) : 'RS256',
    externalUrl: text(values, 'external.url'),
    provisioningMaxAgeSeconds: typeof maxAge === 'number' ? maxAge : 900,
  };
}
