import { X509Certificate } from 'node:crypto';
import type { HealthStatus } from '../../health/index.js';
import { parseIdpMetadata } from './idp-metadata.js';
import type { IdpMetadataFetch } from './metadata-fetch.js';
import type { SamlSettings } from './saml-config.js';

/** The command that trusts what the IdP now publishes (it refetches and replaces idpCert, idpUrl, idpEntityId). */
export function refetchMetadataCommand(name: string, url: string): string {
  return `capsule saml add ${name} --update --idp-metadata ${url}`;
}

const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;

function described(pem: string): string {
  const certificate = new X509Certificate(pem);
  return `SHA-256 ${certificate.fingerprint256}, valid until ${new Date(certificate.validTo).toISOString().slice(0, 10)}`;
}

/**
 * With an `idpMetadataUrl`: the metadata answers, parses, and lists the signing certificates that are
 * configured. Each failure is a warning, never critical: sign-ins use the configured certificates and
 * go on while the IdP's metadata host is away, so monitoring must not call the instance down for it.
 */
export async function metadataFindings(settings: SamlSettings, fetchMetadata: IdpMetadataFetch): Promise<Array<{ status: HealthStatus; text: string }>> {
  const url = settings.idpMetadataUrl;
  if (url === null) return [];
  let xml: string;
  try {
    xml = await fetchMetadata(url);
  } catch (error) {
    return [{ status: 'warn', text: `IdP metadata at ${url} ${(error as Error).message}` }];
  }
  let published: readonly string[];
  try {
    published = parseIdpMetadata(xml, settings.idpEntityId === '' ? null : settings.idpEntityId).signingCertificates;
  } catch (error) {
    return [{ status: 'warn', text: `IdP metadata at ${url} is not usable: ${(error as Error).message.replace(/^IdP metadata: /, '')}` }];
  }
  const configured = new Set(settings.idpCertificates.map(fingerprintOf));
  const publishedFingerprints = new Set(published.map(fingerprintOf));
  const added = published.filter((pem) => !configured.has(fingerprintOf(pem)));
  const dropped = settings.idpCertificates.filter((pem) => !publishedFingerprints.has(fingerprintOf(pem)));
  if (added.length === 0 && dropped.length === 0) {
    return [{ status: 'ok', text: `IdP metadata at ${url} answers and lists the configured signing certificate${published.length === 1 ? '' : 's'}` }];
  }
  const changes = [
    ...(added.length > 0 ? [`new: ${added.map(described).join('; ')}`] : []),
    ...(dropped.length > 0 ? [`no longer listed: ${dropped.map(described).join('; ')}`] : []),
  ];
  return [
    {
      status: 'warn',
      text: `IdP metadata at ${url} lists other signing certificates than the configured ones (${changes.join('; ')}): the IdP rolled its key; trust what it publishes with '${refetchMetadataCommand(settings.name, url)}'`,
    },
  ];
}
