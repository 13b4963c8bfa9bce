import type * as client from 'openid-client';
import type { CryptoSupport } from '../../crypto/index.js';
import { isCapsuleError } from '../../errors.js';
import { describeOidcSecret, revealOidcSecret } from './client-secret.js';
import { discoverProvider, issuerUrl } from './discovery.js';
import type { OidcSettings } from './oidc-config.js';
import type { OidcCheckResult } from './types.js';

const KEY_TYPE = { RS256: 'RSA', PS256: 'RSA', ES256: 'EC', EdDSA: 'OKP' } as const;

/**
 * The secret decrypts (first: no network needed to report a key that changed), the discovery
 * document answers, the provider publishes a key for the configured algorithm. Never throws.
 */
export async function checkProvider(name: string, settingsOf: () => OidcSettings, deps: { crypto: CryptoSupport; fetch: client.CustomFetch }): Promise<OidcCheckResult> {
  const critical = (error: unknown): OidcCheckResult => ({ name, status: 'critical', code: isCapsuleError(error) ? error.code : 'INTERNAL', message: (error as Error).message });
  let settings: OidcSettings;
  let issuer: URL;
  try {
    settings = settingsOf();
    revealOidcSecret(settings, deps.crypto);
    issuer = issuerUrl(settings);
  } catch (error) {
    return critical(error);
  }
  let metadata: client.ServerMetadata;
  try {
    metadata = (await discoverProvider(settings, deps)).serverMetadata();
  } catch (error) {
    return critical(error);
  }
  const unreachable = (message: string): OidcCheckResult => ({ name, status: 'critical', code: 'OIDC_UNREACHABLE', message: `${name}: ${message}` });
  if (metadata.jwks_uri === undefined) return unreachable('the discovery document names no jwks_uri');
  let keys: unknown;
  try {
    const response = await deps.fetch(metadata.jwks_uri, { headers: { accept: 'application/json' } } as never);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    keys = ((await response.json()) as { keys?: unknown }).keys;
  } catch (error) {
    return unreachable(`the provider keys at ${metadata.jwks_uri} did not load: ${(error as Error).message}`);
  }
  const kty = KEY_TYPE[settings.idTokenAlg];
  const usable = Array.isArray(keys) ? keys.filter((key: { kty?: unknown; use?: unknown } | null) => key?.kty === kty && (key.use === undefined || key.use === 'sig')).length : 0;
  if (usable === 0) return unreachable(`the provider publishes no ${kty} signing key for ${settings.idTokenAlg} at ${metadata.jwks_uri}`);

  const secret = describeOidcSecret(settings, deps.crypto);
  const secretState = secret.reference === undefined ? 'client secret decrypts' : `client secret read from ${secret.reference}`;
  const passed = `${name}: discovery at ${issuer.origin} ok, ${usable} signing key${usable === 1 ? '' : 's'} loaded, ${secretState}`;
  const supported = metadata.id_token_signing_alg_values_supported;
  if (Array.isArray(supported) && !supported.includes(settings.idTokenAlg)) {
    return { name, status: 'warn', code: null, message: `${passed}; but the provider does not list ${settings.idTokenAlg} among its ID token algorithms (${supported.join(', ')})` };
  }
  if (secret.keyId === null && secret.reference === undefined) {
    return { name, status: 'warn', code: null, message: `${passed}; but client.secret is stored in clear: enter it again to protect it` };
  }
  return { name, status: 'ok', code: null, message: passed };
}
