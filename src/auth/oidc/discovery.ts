import * as client from 'openid-client';
import type { CryptoSupport } from '../../crypto/index.js';
import { CapsuleError } from '../../errors.js';
import { revealOidcSecret } from './client-secret.js';
import type { OidcSettings } from './oidc-config.js';
import { isSafeForCredentials } from '../../support/loopback.js';


/** `fetch` with a timeout on every request to a provider. */
export function fetchWithTimeout(timeoutMs: number): client.CustomFetch {
  return (url, options) => fetch(url, { ...options, signal: AbortSignal.timeout(timeoutMs) } as RequestInit);
}

/** The issuer as a URL: https, or plain http on a loopback address only (tests, a local provider). */
export function issuerUrl(settings: OidcSettings): URL {
  let url: URL;
  try {
    url = new URL(settings.issuer);
  } catch {
    throw new CapsuleError('INVALID_CONFIG', `issuer of OpenID provider ${settings.name} is not a URL`);
  }
  if (!isSafeForCredentials(url)) {
    throw new CapsuleError('INVALID_CONFIG', `issuer of OpenID provider ${settings.name} must be https (plain http only on a loopback address)`);
  }
  return url;
}

/** The openid-client configuration of a provider: its discovery document, our client, its secret in clear. */
export async function discoverProvider(settings: OidcSettings, deps: { crypto: CryptoSupport; fetch: client.CustomFetch }): Promise<client.Configuration> {
  const secret = revealOidcSecret(settings, deps.crypto);
  const issuer = issuerUrl(settings);
  try {
    return await client.discovery(
      issuer,
      settings.clientId,
      { client_secret: secret, id_token_signed_response_alg: settings.idTokenAlg },
      client.ClientSecretBasic(secret),
      {
        [client.customFetch]: deps.fetch,
        // The ID token's signature is checked against the provider's keys even though it came
        // straight from the token endpoint: a provider whose keys are not its own is refused.
        execute: issuer.protocol === 'http:' ? [client.enableNonRepudiationChecks, client.allowInsecureRequests] : [client.enableNonRepudiationChecks],
      },
    );
  } catch (error) {
    throw new CapsuleError(
      'OIDC_UNREACHABLE',
      `${settings.name}: discovery at ${issuer.origin}${issuer.pathname.replace(/\/$/, '')}/.well-known/openid-configuration failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
