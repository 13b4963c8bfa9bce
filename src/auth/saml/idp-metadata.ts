import { X509Certificate } from 'node:crypto';
import { CapsuleError } from '../../errors.js';
import { allElements, attribute, childElements, declarationIn, isElement, nestingDepth, NS_DSIG, parseXml, textOf } from './saml-xml.js';

/**
 * An identity provider's SAML metadata, read for what the SP needs: entity id, single sign-on
 * and single logout URLs for the HTTP-Redirect binding, the signing certificates. The metadata's
 * own signature is not checked: the administrator vouches for it by the URL or file given, and
 * the certificates taken from it are shown (fingerprints) before they are trusted.
 */

export const NS_METADATA = 'urn:oasis:names:tc:SAML:2.0:metadata';
export const BINDING_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';

/** Federation aggregates hold thousands of entities; one IdP's metadata is a few KB. */
export const MAX_METADATA_BYTES = 1024 * 1024;

export interface IdpMetadata {
  readonly entityId: string;
  /** SingleSignOnService, HTTP-Redirect binding. */
  readonly ssoUrl: string;
  /** SingleLogoutService, HTTP-Redirect binding, or null. */
  readonly sloUrl: string | null;
  /** PEM; from KeyDescriptors with use="signing" or no use. */
  readonly signingCertificates: readonly string[];
  readonly nameIdFormats: readonly string[];
}

function invalid(what: string): CapsuleError {
  return new CapsuleError('INVALID_CONFIG', `IdP metadata: ${what}`);
}

function pem(base64: string): string {
  const lines = base64.replace(/\s/g, '').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----`;
}

function redirectLocation(descriptor: Element, service: string): string | null {
  const endpoint = childElements(descriptor, NS_METADATA, service).find((element) => attribute(element, 'Binding') === BINDING_REDIRECT);
  return attribute(endpoint ?? null, 'Location');
}

function signingCertificates(descriptor: Element): string[] {
  return childElements(descriptor, NS_METADATA, 'KeyDescriptor')
    .filter((key) => (attribute(key, 'use') ?? 'signing') === 'signing')
    .flatMap((key) => allElements(key).filter((element) => isElement(element, NS_DSIG, 'X509Certificate')))
    .map((element) => pem(textOf(element)))
    .map((certificate) => {
      try {
        new X509Certificate(certificate);
        return certificate;
      } catch {
        throw invalid('a signing certificate is not a valid X.509 certificate');
      }
    });
}

/** The EntityDescriptor to read: the root, or the one named `entityId` in an EntitiesDescriptor. */
function entityDescriptor(root: Element, entityId: string | null): Element {
  const entities = isElement(root, NS_METADATA, 'EntityDescriptor')
    ? [root]
    : isElement(root, NS_METADATA, 'EntitiesDescriptor')
      ? allElements(root).filter((element) => isElement(element, NS_METADATA, 'EntityDescriptor'))
      : null;
  if (entities === null) throw invalid(`the document is not SAML metadata (its root is ${root.localName})`);
  const chosen = entityId === null ? entities : entities.filter((entity) => attribute(entity, 'entityID') === entityId);
  if (chosen.length === 1) return chosen[0]!;
  if (chosen.length === 0) throw invalid(entityId === null ? 'it describes no entity' : `it does not describe ${entityId}`);
  throw invalid(`it describes ${chosen.length} entities: name the identity provider's entity id`);
}

export function parseIdpMetadata(xml: string, entityId: string | null = null): IdpMetadata {
  if (Buffer.byteLength(xml) > MAX_METADATA_BYTES) throw invalid(`larger than ${MAX_METADATA_BYTES} bytes`);
  const declaration = declarationIn(xml);
  if (declaration !== null) throw invalid(`it contains a document type declaration (${declaration}), which is never read`);
  const doc = parseXml(xml);
  if (doc === null || !doc.documentElement) throw invalid('not well-formed XML');
  const root = doc.documentElement;
  if (nestingDepth(root) > 64) throw invalid('nested deeper than any metadata');
  const entity = entityDescriptor(root, entityId);
  const id = attribute(entity, 'entityID');
  if (!id) throw invalid('the EntityDescriptor has no entityID');
  const descriptor = childElements(entity, NS_METADATA, 'IDPSSODescriptor').find((element) => (attribute(element, 'protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML2_PROTOCOL));
  if (!descriptor) throw invalid(`${id} is not a SAML 2.0 identity provider (no IDPSSODescriptor)`);
  const ssoUrl = redirectLocation(descriptor, 'SingleSignOnService');
  if (ssoUrl === null) throw invalid('no SingleSignOnService with the HTTP-Redirect binding');
  const certificates = signingCertificates(descriptor);
  if (certificates.length === 0) throw invalid('no signing certificate');
  return {
    entityId: id,
    ssoUrl,
    sloUrl: redirectLocation(descriptor, 'SingleLogoutService'),
    signingCertificates: certificates,
    nameIdFormats: childElements(descriptor, NS_METADATA, 'NameIDFormat').map((element) => textOf(element).trim()),
  };
}
