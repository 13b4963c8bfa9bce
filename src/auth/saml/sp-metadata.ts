import { generateServiceProviderMetadata } from '@node-saml/node-saml';
import { XMLSerializer } from '@xmldom/xmldom';
import { CapsuleError } from '../../errors.js';
import type { SamlSettings } from './saml-config.js';
import { attribute, parseXml } from './saml-xml.js';
import { BINDING_REDIRECT, NS_METADATA } from './idp-metadata.js';

/** Where the SAML routes of one provider live on a site. */
export function samlRoutePath(name: string, endpoint: 'acs' | 'metadata' | 'slo'): string {
  return `/system/sling/saml/${encodeURIComponent(name)}/${endpoint}`;
}

function originOf(text: string): string | null {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : null;
  } catch {
    return null;
  }
}

/**
 * The site's base URL for the provider's endpoints when no request tells it (the CLI): the
 * configured ACS URL's origin, else the SP entity id's when that is an http(s) URL.
 */
function siteOrigin(settings: SamlSettings): string {
  const origin = (settings.acsUrl === null ? null : originOf(settings.acsUrl)) ?? originOf(settings.spEntityId);
  if (origin === null) {
    throw new CapsuleError(
      'INVALID_CONFIG',
      `SAML identity provider ${settings.name}: the SP entity id '${settings.spEntityId}' is not an http(s) URL, so the ACS URL cannot be derived; set assertionConsumerServiceURL`,
    );
  }
  return origin;
}

/** The ACS URL the IdP posts to: the configured one, else `<site>/system/sling/saml/NAME/acs`. */
export function samlAcsUrl(settings: SamlSettings, site: string | null = null): string {
  return settings.acsUrl ?? `${(site ?? siteOrigin(settings)).replace(/\/+$/, '')}${samlRoutePath(settings.name, 'acs')}`;
}

/** The single logout URL of this SP, published when logout is handled. */
export function samlSloUrl(settings: SamlSettings, site: string | null = null): string {
  return `${(site ?? siteOrigin(settings)).replace(/\/+$/, '')}${samlRoutePath(settings.name, 'slo')}`;
}

/**
 * The SP metadata an IdP administrator imports: entity id, ACS (HTTP-POST), the SP certificate
 * for encryption (and for signing when requests are signed), the NameID format, single logout
 * (HTTP-Redirect) when handled. `spPrivateKey` is only passed on to node-saml, which decides
 * from its presence which key descriptors to write; the metadata is not signed.
 */
export function spMetadataXml(settings: SamlSettings, spPrivateKey: string, site: string | null = null): string {
  if (settings.spCertificate === null) {
    throw new CapsuleError('INVALID_CONFIG', `SAML identity provider ${settings.name} has no spCertificate: add it again to make the SP key pair`);
  }
  const xml = generateServiceProviderMetadata({
    issuer: settings.spEntityId,
    callbackUrl: samlAcsUrl(settings, site),
    logoutCallbackUrl: settings.handleLogout ? samlSloUrl(settings, site) : undefined,
    identifierFormat: settings.nameIdFormat,
    wantAssertionsSigned: true,
    decryptionPvk: spPrivateKey,
    decryptionCert: settings.spCertificate,
    privateKey: settings.signRequests ? spPrivateKey : undefined,
    publicCerts: settings.signRequests ? settings.spCertificate : undefined,
  });
  return settings.handleLogout ? withRedirectLogoutBinding(xml) : xml;
}

/** node-saml advertises single logout with the HTTP-POST binding; Capsule takes logout messages by HTTP-Redirect. */
export function withRedirectLogoutBinding(xml: string): string {
  const document = parseXml(xml);
  const logout = document?.getElementsByTagNameNS(NS_METADATA, 'SingleLogoutService')[0];
  if (!document || !logout || attribute(logout, 'Location') === null) return xml;
  logout.setAttribute('Binding', BINDING_REDIRECT);
  return new XMLSerializer().serializeToString(document);
}
