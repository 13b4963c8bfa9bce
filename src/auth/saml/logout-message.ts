import { inflateRawSync } from 'node:zlib';
import { SamlLogoutError } from './logout-error.js';
import { attribute, declarationIn, firstChild, NS_ASSERTION, NS_PROTOCOL, parseXml, textOf } from './saml-xml.js';

/**
 * A logout message as it arrives by HTTP-Redirect (SAML bindings 3.4): read from the raw query
 * string, never from a parsed one, because the signature covers the parameters exactly as
 * they were encoded. Each parameter at most once; the message inflated within a limit (a small
 * URL can inflate to megabytes) and refused with any `<!DOCTYPE` before it is parsed.
 */

/** Longest message parameter taken (browsers and proxies cut URLs near 8 KB anyway). */
const MAX_PARAMETER_CHARS = 16 * 1024;
const MAX_INFLATED_BYTES = 64 * 1024;
const SIGNATURE_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
]);
const PARAMETERS = ['SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg', 'Signature'] as const;
type Parameter = (typeof PARAMETERS)[number];

export interface RedirectMessage {
  readonly kind: 'request' | 'response';
  /** Decoded parameters, for node-saml's `validateRedirectAsync`. */
  readonly container: Partial<Record<Parameter, string>>;
  /** The raw parameters in the order the signature covers them, for the same call (it rebuilds the signed text from these). */
  readonly signedQuery: string;
  readonly signed: boolean;
  readonly xml: string;
  readonly id: string;
  readonly issuer: string | null;
  readonly destination: string | null;
  readonly issueInstant: Date | null;
  readonly notOnOrAfter: Date | null;
  readonly inResponseTo: string | null;
}

function decode(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw new SamlLogoutError('malformed', 'URL-encoded parameters', raw.slice(0, 40));
  }
}

function instant(value: string | null): Date | null {
  if (value === null) return null;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new SamlLogoutError('malformed', 'an xs:dateTime', value);
  return date;
}

export function readRedirectMessage(rawQuery: string): RedirectMessage {
  const raw = new Map<Parameter, string>();
  for (const pair of rawQuery.split('&')) {
    const at = pair.indexOf('=');
    const name = at < 0 ? pair : pair.slice(0, at);
    if (!(PARAMETERS as readonly string[]).includes(name)) continue; // other parameters are no part of the message
    if (raw.has(name as Parameter)) throw new SamlLogoutError('malformed', `one ${name} parameter`, `${name} twice`);
    raw.set(name as Parameter, pair);
  }
  const messageParameter = raw.has('SAMLRequest') ? 'SAMLRequest' : 'SAMLResponse';
  if (raw.has('SAMLRequest') === raw.has('SAMLResponse')) throw new SamlLogoutError('malformed', 'one of SAMLRequest or SAMLResponse', raw.has('SAMLRequest') ? 'both' : 'neither');
  const container: Partial<Record<Parameter, string>> = {};
  for (const [name, pair] of raw) {
    const value = pair.slice(name.length + 1);
    if (value.length > MAX_PARAMETER_CHARS) throw new SamlLogoutError('malformed', `${name} of at most ${MAX_PARAMETER_CHARS} characters`, `${value.length} characters`);
    container[name] = decode(value);
  }
  // node-saml verifies only a truthy Signature: an empty one would pass as signed and skip the check.
  if (container.Signature !== undefined && container.Signature.trim() === '') throw new SamlLogoutError('malformed', 'a Signature with a value', 'an empty Signature');
  const signed = container.Signature !== undefined;
  if (signed && (container.SigAlg === undefined || !SIGNATURE_ALGORITHMS.has(container.SigAlg))) {
    throw new SamlLogoutError('weak-algorithm', [...SIGNATURE_ALGORITHMS].join(' or '), container.SigAlg ?? 'no SigAlg');
  }
  let xml: string;
  try {
    xml = inflateRawSync(Buffer.from(container[messageParameter]!, 'base64'), { maxOutputLength: MAX_INFLATED_BYTES }).toString('utf8');
  } catch (error) {
    throw new SamlLogoutError('malformed', `a deflated message of at most ${MAX_INFLATED_BYTES} bytes`, 'something else', { cause: error });
  }
  const declaration = declarationIn(xml);
  if (declaration !== null) throw new SamlLogoutError('doctype', 'no document type declaration', declaration);
  const root = parseXml(xml)?.documentElement;
  const kind = messageParameter === 'SAMLRequest' ? 'request' : 'response';
  const rootName = kind === 'request' ? 'LogoutRequest' : 'LogoutResponse';
  if (!root || root.namespaceURI !== NS_PROTOCOL || root.localName !== rootName) {
    throw new SamlLogoutError('malformed', `a samlp:${rootName}`, root ? `${root.namespaceURI ?? ''} ${root.localName}` : 'unreadable XML');
  }
  const id = attribute(root, 'ID');
  if (!id) throw new SamlLogoutError('malformed', `an ID on the ${rootName}`, 'none');
  const issuer = firstChild(root, NS_ASSERTION, 'Issuer');
  // The order the sender signed them in (bindings 3.4.4.1): the message, RelayState, SigAlg.
  const signedQuery = [messageParameter, 'RelayState', 'SigAlg', 'Signature']
    .map((name) => raw.get(name as Parameter))
    .filter((pair): pair is string => pair !== undefined)
    .join('&');
  return {
    kind,
    container,
    signedQuery,
    signed,
    xml,
    id,
    issuer: issuer === null ? null : textOf(issuer).trim(),
    destination: attribute(root, 'Destination'),
    issueInstant: instant(attribute(root, 'IssueInstant')),
    notOnOrAfter: instant(attribute(root, 'NotOnOrAfter')),
    inResponseTo: attribute(root, 'InResponseTo'),
  };
}
