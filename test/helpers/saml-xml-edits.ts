import { DOMParser, XMLSerializer } from '@xmldom/xmldom';

/**
 * DOM edits that turn a signed SAML Response into an attack: the wrapping tests of the ACS
 * function (test/auth/saml/acs.test.ts) and the vector generator (test/vectors/saml/generate.ts)
 * share them. Each edit leaves the signed bytes as the IdP made them somewhere in the document.
 */

export const NS_A = 'urn:oasis:names:tc:SAML:2.0:assertion';
export const NS_P = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const NS_DS = 'http://www.w3.org/2000/09/xmldsig#';

export const parse = (xml: string): Document => new DOMParser().parseFromString(xml, 'text/xml');
export const serialize = (doc: Document): string => new XMLSerializer().serializeToString(doc);
export const stripSignatures = (xml: string): string => xml.replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/g, '');

export function removeSignatures(element: Element): Element {
  for (const signature of Array.from(element.getElementsByTagNameNS(NS_DS, 'Signature'))) signature.parentNode!.removeChild(signature);
  return element;
}

/** The response's assertion, copied without its signature, naming `nameId` (ID `id`; the same ID as the original when null). */
export function forgedAssertion(doc: Document, id: string | null = '_forged', nameId = 'admin'): Element {
  const copy = removeSignatures(doc.getElementsByTagNameNS(NS_A, 'Assertion')[0]!.cloneNode(true) as Element);
  if (id !== null) copy.setAttribute('ID', id);
  copy.getElementsByTagNameNS(NS_A, 'NameID')[0]!.textContent = nameId;
  return copy;
}

/** The forged assertion put where the signed one was; the signed one, detached, for the caller to hide. */
export function forgedInPlace(doc: Document): { signed: Element; forged: Element } {
  const signed = doc.getElementsByTagNameNS(NS_A, 'Assertion')[0]!;
  const forged = forgedAssertion(doc);
  doc.documentElement!.replaceChild(forged, signed);
  return { signed, forged };
}

export function extensions(doc: Document, ...content: Node[]): Element {
  const element = doc.createElementNS(NS_P, 'samlp:Extensions');
  for (const node of content) element.appendChild(node);
  return element;
}
