import type { Clock } from '../clock.js';
import type { CryptoSupport } from '../crypto/index.js';
import { keyIdOfProtected } from '../crypto/index.js';
import { isCapsuleError } from '../errors.js';
import { describeClientSecret, reenterCommand, revealClientSecret } from './client-secret.js';
import { displayEndpoint, type OAuthClientSettings } from './oauth-config.js';
import { OAuthTokenError } from './token-error.js';
import type { AccessToken, OAuthCheckResult } from './types.js';

export interface CheckDeps {
  readonly crypto: CryptoSupport;
  readonly clock: Clock;
  readonly settings: () => OAuthClientSettings;
  /** A real grant, past the cache. */
  readonly grant: () => Promise<AccessToken>;
}

function masterKeyId(crypto: CryptoSupport): string | null {
  try {
    return crypto.keyIds().master;
  } catch {
    return null;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * First: does the secret decrypt with this instance's master key? Only then a real grant, so
 * a key that changed under the configuration is reported as that, not as `invalid_client`.
 */
export async function runCheck(name: string, deps: CheckDeps): Promise<OAuthCheckResult> {
  const base = {
    name,
    secretKeyId: null,
    masterKeyId: masterKeyId(deps.crypto),
    httpStatus: null,
    error: null,
    errorDescription: null,
  };
  let settings: OAuthClientSettings;
  try {
    settings = deps.settings();
  } catch (error) {
    return { ...base, status: 'critical', code: isCapsuleError(error) ? error.code : 'INTERNAL', message: messageOf(error) };
  }
  const withKeys = { ...base, secretKeyId: settings.storedSecret === null ? null : keyIdOfProtected(settings.storedSecret) };
  const secret = describeClientSecret(settings, deps.crypto);

  try {
    revealClientSecret(settings, deps.crypto);
  } catch (error) {
    return { ...withKeys, status: 'critical', code: isCapsuleError(error) ? error.code : 'INTERNAL', message: messageOf(error) };
  }

  try {
    const token = await deps.grant();
    const seconds = Math.max(0, Math.round((token.expiresAt - deps.clock.now()) / 1000));
    const granted = `${name}: token endpoint ${displayEndpoint(settings.tokenEndpoint)} granted client '${settings.clientId}' an access token (expires in ${seconds} s)`;
    if (secret.keyId === null && secret.reference === undefined) {
      return { ...withKeys, status: 'warn', code: null, message: `${granted}; but client.secret is stored in clear: enter it again to protect it (${reenterCommand(name)})` };
    }
    return { ...withKeys, status: 'ok', code: null, message: granted };
  } catch (error) {
    if (!(error instanceof OAuthTokenError)) {
      return { ...withKeys, status: 'critical', code: isCapsuleError(error) ? error.code : 'INTERNAL', message: `${name}: ${messageOf(error)}` };
    }
    const { httpStatus, error: providerError, errorDescription } = error.details;
    // The secret decrypted with this instance's key (or its reference resolved), so it is what was
    // typed in (or what the variable holds): the provider disagrees with it.
    const source =
      secret.reference === undefined
        ? `client.secret decrypts with this instance's master key, so the provider does not accept client '${settings.clientId}' with it: check the client at the provider, or enter the secret again (${reenterCommand(name)})`
        : `client.secret comes from ${secret.reference} on this instance, so the provider does not accept client '${settings.clientId}' with what that holds: check the client at the provider, or the value of ${secret.reference}`;
    const hint = providerError === 'invalid_client' ? `; ${source}` : '';
    return {
      ...withKeys,
      status: 'critical',
      code: error.code,
      message: `${name}: ${error.message}${hint}`,
      httpStatus,
      error: providerError,
      errorDescription,
    };
  }
}
