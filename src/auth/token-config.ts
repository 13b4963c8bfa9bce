import { defineComponent, property, type ConfigValues } from '../config/index.js';

export const TOKEN_PID = 'capsule.auth.token';

export const tokenComponent = defineComponent({
  pid: TOKEN_PID,
  title: 'Token Authentication Handler',
  description:
    'Login tokens: stateful tokens are kept in this instance\'s repository; encapsulated tokens are HMAC-signed and validated by any instance that holds the same HMAC key.',
  properties: {
    'token.encapsulated': property.boolean({
      title: 'Enable encapsulated token support',
      description: 'New logins get a signed token that every instance with the same HMAC key accepts, so a load balancer needs no sticky sessions. Tokens already issued stay valid until they expire.',
      default: false,
    }),
    'token.expiration': property.integer({
      title: 'Token lifetime (ms)',
      description: 'How long a login lasts without activity.',
      default: 43_200_000,
      min: 60_000,
      max: 31_536_000_000,
    }),
    'token.refresh': property.boolean({
      title: 'Refresh tokens',
      description: 'When more than half of the lifetime has passed, a request extends the token.',
      default: true,
    }),
    'token.cookie.name': property.string({
      title: 'Cookie name',
      description: 'The name of the login cookie.',
      default: 'login-token',
      pattern: /^[A-Za-z0-9_-]{1,64}$/,
      patternHint: 'a cookie name of letters, digits, _ and -',
    }),
    'token.cookie.samesite': property.choice(['Strict', 'Lax', 'None'], {
      title: 'Cookie SameSite',
      description: 'Lax sends the cookie on top-level navigation from other sites; Strict never; None always (needs Secure).',
      default: 'Lax',
    }),
    'token.cookie.secure': property.choice(['auto', 'always', 'never'], {
      title: 'Cookie Secure flag',
      description: 'auto: Secure when the request came over HTTPS (or a proxy said so).',
      default: 'auto',
    }),
  },
});

export interface TokenSettings {
  readonly encapsulated: boolean;
  readonly expirationMs: number;
  readonly refresh: boolean;
  readonly cookieName: string;
  readonly sameSite: 'Strict' | 'Lax' | 'None';
  readonly secure: 'auto' | 'always' | 'never';
}

export function tokenSettings(values: ConfigValues): TokenSettings {
  return {
    encapsulated: values['token.encapsulated'] === true,
    expirationMs: values['token.expiration'] as number,
    refresh: values['token.refresh'] !== false,
    cookieName: values['token.cookie.name'] as string,
    sameSite: values['token.cookie.samesite'] as TokenSettings['sameSite'],
    secure: values['token.cookie.secure'] as TokenSettings['secure'],
  };
}
