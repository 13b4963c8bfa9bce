import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { CryptoSupport } from '../../crypto/index.js';
import { isCapsuleError } from '../../errors.js';
import type { HealthStatus } from '../../health/index.js';
import { metadataFindings } from './metadata-check.js';
import type { IdpMetadataFetch } from './metadata-fetch.js';
import type { SamlSettings } from './saml-config.js';
import { describeSpPrivateKey, revealSpPrivateKey } from './sp-private-key.js';

export interface SamlCheckResult {
  readonly name: string;
  readonly status: HealthStatus;
  readonly message: string;
  readonly code: string | null;
}

/** How long before a certificate expires the check warns: time to roll the key over with the IdP. */
export const CERTIFICATE_WARNING_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

const day = (date: Date) => date.toISOString().slice(0, 10);

interface Finding {
  readonly status: HealthStatus;
  readonly text: string;
}

/** One certificate's validity at `now`: expired is critical, within the warning window a warning. */
function certificateFinding(what: string, pem: string, now: number): Finding {
  const certificate = new X509Certificate(pem);
  const notAfter = new Date(certificate.validTo);
  const notBefore = new Date(certificate.validFrom);
  if (notAfter.getTime() <= now) return { status: 'critical', text: `${what} expired on ${day(notAfter)}` };
  if (notBefore.getTime() > now) return { status: 'warn', text: `${what} is not valid before ${day(notBefore)}` };
  const days = Math.floor((notAfter.getTime() - now) / DAY_MS);
  if (days < CERTIFICATE_WARNING_DAYS) return { status: 'warn', text: `${what} expires on ${day(notAfter)} (in ${days} day${days === 1 ? '' : 's'})` };
  return { status: 'ok', text: `${what} valid until ${day(notAfter)}` };
}

/** The IdP certificates: critical only when none is valid any more; one expired beside a valid one is a warning (remove it). */
function idpFindings(settings: SamlSettings, now: number): Finding[] {
  const many = settings.idpCertificates.length > 1;
  const findings = settings.idpCertificates.map((pem, index) => certificateFinding(many ? `IdP certificate ${index + 1}` : 'IdP certificate', pem, now));
  if (findings.length === 0) return [{ status: 'critical', text: 'no IdP certificate is configured (idpCert)' }];
  const allExpired = findings.every((finding) => finding.status === 'critical');
  return allExpired ? findings : findings.map((finding) => (finding.status === 'critical' ? { status: 'warn', text: `${finding.text}: remove it` } : finding));
}

function spFindings(settings: SamlSettings, crypto: CryptoSupport, now: number): Finding[] {
  if (settings.storedSpPrivateKey === null) {
    const needed = settings.signRequests || settings.wantEncryptedAssertions;
    return [{ status: needed ? 'critical' : 'warn', text: 'no SP private key is configured (spPrivateKey)' }];
  }
  const key = createPrivateKey(revealSpPrivateKey(settings, crypto));
  const secret = describeSpPrivateKey(settings, crypto);
  const decrypts = secret.reference !== undefined ? `SP key read from ${secret.reference}` : secret.keyId === null ? 'SP key stored in clear' : `SP key decrypts with master key ${secret.keyId}`;
  if (settings.spCertificate === null) return [{ status: 'critical', text: `${decrypts}, but no SP certificate is configured (spCertificate)` }];
  if (!new X509Certificate(settings.spCertificate).checkPrivateKey(key)) {
    return [{ status: 'critical', text: `${decrypts}, but it does not match the SP certificate` }];
  }
  const clear = secret.keyId === null && secret.reference === undefined;
  return [
    { status: clear ? 'warn' : 'ok', text: `${decrypts} and matches the SP certificate${clear ? ': enter it again to protect it' : ''}` },
    certificateFinding('SP certificate', settings.spCertificate, now),
  ];
}

const RANK: Record<HealthStatus, number> = { ok: 0, warn: 1, critical: 2 };

function resultOf(name: string, findings: readonly Finding[]): SamlCheckResult {
  const status = findings.reduce<HealthStatus>((worst, finding) => (RANK[finding.status] > RANK[worst] ? finding.status : worst), 'ok');
  return { name, status, code: status === 'critical' ? 'INVALID_CONFIG' : null, message: `${name}: ${findings.map((finding) => finding.text).join(', ')}` };
}

function failed(name: string, error: unknown): SamlCheckResult {
  return { name, status: 'critical', code: isCapsuleError(error) ? error.code : 'INVALID_CONFIG', message: `${name}: ${(error as Error).message}` };
}

const offlineFindings = (settings: SamlSettings, deps: { crypto: CryptoSupport; clock: Clock }): Finding[] => {
  const now = deps.clock.now();
  return [...idpFindings(settings, now), ...spFindings(settings, deps.crypto, now)];
};

/**
 * The checks that need no network: the IdP certificates' validity (a warning 30 days before one
 * expires, critical once none is valid), the SP key decrypts with the master key and matches the
 * SP certificate, which is valid too. Never throws.
 */
export function checkSamlProvider(name: string, settingsOf: () => SamlSettings, deps: { crypto: CryptoSupport; clock: Clock }): SamlCheckResult {
  try {
    return resultOf(name, offlineFindings(settingsOf(), deps));
  } catch (error) {
    return failed(name, error);
  }
}

/**
 * What `capsule saml check` and the instance's health check report: the offline checks, then, when
 * the provider has an `idpMetadataUrl`, whether its metadata answers and still lists the configured
 * signing certificates (warnings only: see metadata-check.ts). Never throws.
 */
export async function checkSamlProviderWithMetadata(
  name: string,
  settingsOf: () => SamlSettings,
  deps: { crypto: CryptoSupport; clock: Clock; fetchMetadata: IdpMetadataFetch },
): Promise<SamlCheckResult> {
  try {
    const settings = settingsOf();
    const offline = offlineFindings(settings, deps);
    return resultOf(name, [...offline, ...(await metadataFindings(settings, deps.fetchMetadata))]);
  } catch (error) {
    return failed(name, error);
  }
}
