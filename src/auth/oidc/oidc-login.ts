import * as client from 'openid-client';
import type { Clock } from '../../clock.js';
import type { ConfigAdmin } from '../../config/index.js';
import type { CryptoSupport } from '../../crypto/index.js';
import { CapsuleError } from '../../errors.js';
import type { Log } from '../../log.js';
import { checkId, type User, type UserManager } from '../../users/index.js';
import { secretRedactor } from '../../support/client-credentials.js';
import { checkProvider } from './check.js';
import { revealOidcSecret } from './client-secret.js';
import { discoverProvider, fetchWithTimeout } from './discovery.js';
import { LOGIN_STATE_LIFETIME_S, openLoginState, sealLoginState } from './login-state.js';
import { OIDC_PID, oidcPid, oidcSettings, providerNameOf, type OidcSettings } from './oidc-config.js';
import { mapProviderGroups } from '../group-map.js';
import type { ProvisioningClaim } from '../types.js';
import { MAX_PROVISIONED_GROUPS, MAX_PROVISIONING_CLAIM_BYTES, provisioningClaimOf, signInExternalUser } from '../external-provisioning.js';
import type { OidcCheckResult } from './types.js';

export interface OidcLoginDeps {
  readonly config: ConfigAdmin;
  readonly crypto: CryptoSupport;
  readonly users: UserManager;
  readonly clock: Clock;
  readonly logger: Log;
  /** Timeout of each request to a provider (default 10 s). */
  readonly timeoutMs?: number;
}

/**
 * A sign-in that did not complete. `userMessage` is what the person is shown (plain words, never
 * the provider's own text, which anyone can put in a crafted callback URL); `message` is for logs.
 */
export class OidcLoginError extends CapsuleError {
  constructor(
    readonly userMessage: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super('OIDC_LOGIN_FAILED', detail, options);
  }
}

export interface BegunLogin {
  readonly authorizationUrl: string;
  /** The signed login state, for the `capsule-oidc-state` cookie. */
  readonly stateCookie: string;
}

export interface CompletedLogin {
  readonly user: User;
  readonly provisioning: ProvisioningClaim;
  readonly resource: string | null;
}

export interface OidcLogin {
  /** Names of every configured provider, sorted. */
  names(): string[];
  /** For the login page: name and title of each provider. */
  providers(): Array<{ name: string; title: string }>;
  settings(name: string): OidcSettings;
  /** Starts the code flow: the provider's authorization URL (PKCE, state, nonce) and the state to keep. */
  begin(name: string, options: { redirectUri: (settings: OidcSettings) => string; resource: string | null }): Promise<BegunLogin>;
  /** Completes it: checks state, redeems the code, validates the ID token, provisions the user. Throws OidcLoginError. */
  complete(callbackUrl: (settings: OidcSettings) => URL, stateCookie: string | undefined): Promise<CompletedLogin>;
  /** Discovery reachable, provider keys load, the secret decrypts. Never throws. */
  check(name: string): Promise<OidcCheckResult>;
  /** Forget discovered metadata (after a configuration change). */
  invalidate(name?: string): void;
}

/** Plain words for the provider's error codes (RFC 6749 4.1.2.1, OIDC Core 3.1.2.6). */
function plainWords(error: string): string {
  switch (error) {
    case 'access_denied':
      return 'The sign-in was cancelled or refused at the identity provider.';
    case 'login_required':
    case 'interaction_required':
    case 'consent_required':
    case 'account_selection_required':
      return 'The identity provider needs you to sign in again there.';
    case 'temporarily_unavailable':
    case 'server_error':
      return 'The identity provider is not available right now. Please try again in a moment.';
    default:
      return 'The identity provider could not sign you in. Please try again, or ask your administrator.';
  }
}

/** The error and its causes in one line, e.g. `ClientError: invalid response encountered (OperationProcessingError: JWS signature verification failed)`. */
function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    // Only the messages: a cause that is not an Error holds claims (personal data) and key material.
    const code = (current as { code?: unknown }).code;
    parts.push(`${current.constructor.name}: ${current.message}${typeof code === 'string' ? ` [${code}]` : ''}`);
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join(' <- ') || String(error);
}

const TRY_AGAIN = 'Your sign-in could not be completed. Please start again.';
const NOT_VERIFIED = "The identity provider's answer could not be verified, so you were not signed in. Please try again, or ask your administrator.";

function claimText(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The Capsule groups of a sign-in: the provider groups the group map names, mapped, plus the default groups. */
export function mappedGroups(settings: OidcSettings, claimValue: unknown, logger: Log): string[] {
  const given = Array.isArray(claimValue) ? claimValue.filter((item): item is string => typeof item === 'string') : typeof claimValue === 'string' ? [claimValue] : [];
  const sorted = mapProviderGroups(settings.groupMap, settings.defaultGroups, given, (group) =>
    logger.warn({ provider: settings.name, group: group.slice(0, 64) }, 'provider group is not a valid Capsule group id; ignored'),
  );
  if (sorted.length > MAX_PROVISIONED_GROUPS) {
    throw new OidcLoginError(
      'Your account has more groups than this site can take. Please ask your administrator.',
      `${settings.name}: the sign-in maps to ${sorted.length} groups, more than ${MAX_PROVISIONED_GROUPS}; narrow it with a group map`,
    );
  }
  return sorted;
}

/** Cuts the client secret out of what a provider answers (nothing to cut when it no longer decrypts). */
function redactorFor(settings: OidcSettings, crypto: CryptoSupport): (text: string) => string {
  let secret: string;
  try {
    secret = revealOidcSecret(settings, crypto);
  } catch {
    return (text) => text; // the grant was sent without it, so it cannot come back
  }
  return secretRedactor(settings.clientId, secret);
}

export function createOidcLogin(deps: OidcLoginDeps): OidcLogin {
  const { config, crypto, users, clock, logger } = deps;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const discovered = new Map<string, { fingerprint: string; configuration: Promise<client.Configuration> }>();

  const timedFetch = fetchWithTimeout(timeoutMs);

  function stored(name: string): { settings: OidcSettings; fingerprint: string } {
    const values = config.stored(oidcPid(name));
    if (values === null) throw new CapsuleError('CONFIG_NOT_FOUND', `no OpenID provider ${name}; 'capsule oidc list' shows them`);
    return { settings: oidcSettings(name, config.current(oidcPid(name))), fingerprint: JSON.stringify(values) };
  }

  function configuration(name: string): Promise<{ settings: OidcSettings; configuration: client.Configuration }> {
    const { settings, fingerprint } = stored(name);
    let entry = discovered.get(name);
    if (!entry || entry.fingerprint !== fingerprint) {
      const promise = discoverProvider(settings, { crypto, fetch: timedFetch });
      entry = { fingerprint, configuration: promise };
      discovered.set(name, entry);
      // A failed discovery is tried again on the next sign-in, not remembered.
      promise.catch(() => {
        if (discovered.get(name) === entry) discovered.delete(name);
      });
    }
    return entry.configuration.then((resolved) => ({ settings, configuration: resolved }));
  }

  config.onChange(OIDC_PID, (pid) => {
    const name = providerNameOf(pid);
    if (name !== null) discovered.delete(name);
  });

  async function provision(settings: OidcSettings, claims: client.IDToken): Promise<{ user: User; provisioning: ProvisioningClaim }> {
    const rawId = claimText(claims[settings.userIdClaim]);
    if (rawId === null) {
      throw new OidcLoginError(
        'Your account at the identity provider does not say who you are in the way this site needs. Please ask your administrator.',
        `${settings.name}: the ID token has no '${settings.userIdClaim}' claim (user.id.claim)`,
      );
    }
    let userId: string;
    try {
      userId = checkId('user', rawId);
    } catch (error) {
      throw new OidcLoginError('Your user name at the identity provider cannot be used on this site. Please ask your administrator.', `${settings.name}: ${(error as Error).message}`);
    }
    const groups = settings.groupsClaim ? mappedGroups(settings, claims[settings.groupsClaim], logger) : mappedGroups(settings, undefined, logger);
    const provisioning = provisioningClaimOf(settings.name, claims.sub, groups, clock);
    if (provisioning === null) {
      throw new OidcLoginError(
        'Your account has more groups than this site can take. Please ask your administrator.',
        `${settings.name}: the provisioning claim of ${userId} would be longer than ${MAX_PROVISIONING_CLAIM_BYTES} bytes (subject and ${groups.length} groups); narrow the groups with a group map`,
      );
    }
    const signedIn = await signInExternalUser(users, userId, { provider: settings.name, subject: claims.sub, groups });
    if ('refused' in signedIn) {
      throw new OidcLoginError(
        signedIn.refused.kind === 'disabled'
          ? 'Your account on this site is disabled. Please ask your administrator.'
          : 'This account cannot sign in here with the identity provider. Please ask your administrator.',
        signedIn.refused.detail,
      );
    }
    const { user } = signedIn;
    return { user, provisioning };
  }

  const service: OidcLogin = {
    names: () =>
      config
        .list()
        .map(({ pid }) => providerNameOf(pid))
        .filter((name): name is string => name !== null)
        .sort(),

    providers: () => service.names().map((name) => ({ name, title: stored(name).settings.title })),

    settings: (name) => stored(name).settings,

    async begin(name, options) {
      const { settings, configuration: resolved } = await configuration(name);
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const redirectUri = options.redirectUri(settings);
      const url = client.buildAuthorizationUrl(resolved, {
        redirect_uri: redirectUri,
        scope: settings.scope.split(/\s+/).includes('openid') ? settings.scope : `openid ${settings.scope}`,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      const exp = Math.floor(clock.now() / 1000) + LOGIN_STATE_LIFETIME_S;
      return { authorizationUrl: url.href, stateCookie: sealLoginState({ p: name, state, nonce, v: verifier, u: redirectUri, r: options.resource, exp }, crypto) };
    },

    async complete(callbackUrlOf, stateCookie) {
      const login = openLoginState(stateCookie, crypto, clock.now());
      if (!login) {
        throw new OidcLoginError(
          'Your sign-in took too long or was started in another browser. Please start again.',
          'callback without a valid login state cookie (missing, expired, or not signed with this farm\'s keys)',
        );
      }
      let resolved: { settings: OidcSettings; configuration: client.Configuration };
      try {
        resolved = await configuration(login.p);
      } catch (error) {
        throw new OidcLoginError('The identity provider is not available right now. Please try again in a moment.', (error as Error).message, { cause: error });
      }
      const { settings } = resolved;
      const callbackUrl = callbackUrlOf(settings);
      const providerError = callbackUrl.searchParams.get('error');
      if (providerError !== null) {
        // Verbatim for the operator (pino escapes it); plain words for the person.
        logger.warn(
          { provider: settings.name, error: providerError, error_description: callbackUrl.searchParams.get('error_description'), error_uri: callbackUrl.searchParams.get('error_uri') },
          'OpenID provider returned an error to the callback',
        );
        throw new OidcLoginError(plainWords(providerError), `${settings.name}: provider returned error '${providerError.slice(0, 200)}'`);
      }
      if (`${callbackUrl.origin}${callbackUrl.pathname}` !== login.u) {
        throw new OidcLoginError(TRY_AGAIN, `${settings.name}: callback reached ${callbackUrl.origin}${callbackUrl.pathname}, the flow was started for ${login.u}`);
      }
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(resolved.configuration, callbackUrl, {
          pkceCodeVerifier: login.v,
          expectedState: login.state,
          expectedNonce: login.nonce,
          idTokenExpected: true,
        });
      } catch (error) {
        // A token endpoint may echo the client secret back in any encoding: cut every form out.
        const redact = redactorFor(settings, crypto);
        const detail = redact(describeError(error));
        const body =
          error instanceof client.ResponseBodyError
            ? { error: redact(error.error), error_description: error.error_description === undefined ? undefined : redact(error.error_description) }
            : {};
        logger.warn({ provider: settings.name, reason: detail, code: (error as { code?: string }).code, ...body }, 'OpenID sign-in refused');
        const userMessage =
          error instanceof client.ResponseBodyError
            ? error.error === 'invalid_grant'
              ? 'This sign-in link was already used or has expired. Please sign in again.'
              : plainWords(error.error)
            : error instanceof client.ClientError && /state/i.test(error.message)
              ? TRY_AGAIN
              : NOT_VERIFIED;
        throw new OidcLoginError(userMessage, `${settings.name}: ${detail}`, { cause: error });
      }
      const claims = tokens.claims();
      if (!claims) throw new OidcLoginError(NOT_VERIFIED, `${settings.name}: the token response has no ID token`);
      const { user, provisioning } = await provision(settings, claims);
      logger.info({ provider: settings.name, userId: user.id, groups: provisioning.g }, 'signed in with OpenID Connect');
      return { user, provisioning, resource: login.r };
    },

    async check(name) {
      return checkProvider(name, () => stored(name).settings, { crypto, fetch: timedFetch });
    },

    invalidate(name) {
      if (name) discovered.delete(name);
      else discovered.clear();
    },
  };
  return service;
}
