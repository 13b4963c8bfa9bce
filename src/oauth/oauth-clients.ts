import type { Clock } from '../clock.js';
import type { ConfigAdmin } from '../config/index.js';
import type { CryptoSupport } from '../crypto/index.js';
import { CapsuleError } from '../errors.js';
import { runCheck } from './check.js';
import { revealClientSecret } from './client-secret.js';
import { clientNameOf, oauthClientPid, oauthClientSettings, type OAuthClientSettings } from './oauth-config.js';
import { DEFAULT_TOKEN_REQUEST_OPTIONS, requestClientCredentials, type TokenRequestOptions } from './token-request.js';
import type { AccessToken, OAuthClients } from './types.js';

export interface OAuthClientsDeps {
  readonly config: ConfigAdmin;
  readonly crypto: CryptoSupport;
  readonly clock: Clock;
  /** Overrides of the token request's fetch, timeout and retries. */
  readonly request?: Partial<TokenRequestOptions>;
}

/** When the provider does not say how long a token lives. */
const ASSUMED_LIFETIME_S = 300;
/** A token is replaced this long before it expires (at most half its lifetime). */
const REFRESH_MARGIN_MS = 60_000;

interface CacheEntry {
  /** The stored values the token was obtained with: any change to them misses the cache. */
  readonly fingerprint: string;
  readonly token: AccessToken;
  readonly refreshAt: number;
}

interface InFlight {
  readonly fingerprint: string;
  readonly promise: Promise<AccessToken>;
}

/**
 * The OAuth client service: one configuration per `capsule.oauth.client~NAME`, tokens
 * cached per name until shortly before they expire, concurrent callers sharing one grant.
 */
export function createOAuthClients(deps: OAuthClientsDeps): OAuthClients {
  const { clock } = deps;
  const options: TokenRequestOptions = { ...DEFAULT_TOKEN_REQUEST_OPTIONS, ...deps.request };
  const cache = new Map<string, CacheEntry>();
  const inFlight = new Map<string, InFlight>();

  function stored(name: string): { settings: OAuthClientSettings; fingerprint: string } {
    const values = deps.config.stored(oauthClientPid(name));
    if (values === null) {
      throw new CapsuleError('CONFIG_NOT_FOUND', `no OAuth client ${name}; 'capsule oauth list' shows them`);
    }
    return { settings: oauthClientSettings(name, deps.config.current(oauthClientPid(name))), fingerprint: JSON.stringify(values) };
  }

  async function grant(name: string, settings: OAuthClientSettings, fingerprint: string): Promise<AccessToken> {
    const clientSecret = revealClientSecret(settings, deps.crypto);
    const startedAt = clock.now();
    const response = await requestClientCredentials({ ...settings, clientSecret }, options);
    const lifetimeMs = (response.expiresIn ?? ASSUMED_LIFETIME_S) * 1000;
    const token: AccessToken = {
      value: response.accessToken,
      tokenType: response.tokenType,
      expiresAt: startedAt + lifetimeMs,
      scope: response.scope,
    };
    // Counted from before the request, so network time never makes a token look fresher than it is.
    cache.set(name, { fingerprint, token, refreshAt: startedAt + lifetimeMs - Math.min(REFRESH_MARGIN_MS, lifetimeMs / 2) });
    return token;
  }

  function getToken(name: string, { fresh = false } = {}): Promise<AccessToken> {
    const { settings, fingerprint } = stored(name);
    const cached = cache.get(name);
    if (!fresh && cached && cached.fingerprint === fingerprint && clock.now() < cached.refreshAt) {
      return Promise.resolve(cached.token);
    }
    const running = inFlight.get(name);
    if (running && running.fingerprint === fingerprint) return running.promise;
    const promise = grant(name, settings, fingerprint).finally(() => {
      if (inFlight.get(name)?.promise === promise) inFlight.delete(name);
    });
    inFlight.set(name, { fingerprint, promise });
    return promise;
  }

  const clients: OAuthClients = {
    names: () =>
      deps.config
        .list()
        .map(({ pid }) => clientNameOf(pid))
        .filter((name): name is string => name !== null),
    settings: (name) => stored(name).settings,
    getToken,
    getAccessToken: async (name) => (await getToken(name)).value,
    invalidate(name) {
      cache.delete(name);
    },
    check: (name) => runCheck(name, { crypto: deps.crypto, settings: () => stored(name).settings, grant: () => getToken(name, { fresh: true }), clock }),
  };
  return clients;
}
