import { X509Certificate } from 'node:crypto';
import { SamlLoginError } from './saml-login-error.js';
import { allElements, attribute, childElements, declarationIn, firstChild, isElement, nestingDepth, NS_ASSERTION, NS_DSIG, NS_PROTOCOL, parseXml, textOf } from './saml-xml.js';

/**
 * The checks made before any signature is verified: size, encoding, no DTD, one Response holding
 * exactly one assertion, signatures only where SAML puts them (each covering its own parent by
 * ID, one reference each), no duplicate IDs, and only SHA-256 or stronger algorithms. A response
 * that passes is one whose signed parts can only be the parts Capsule reads: the wrapping
 * attacks (a second assertion, a signed element moved elsewhere) are refused here, by shape,
 * before the verifier is asked.
 */

/** Of the base64 text. Real responses with a few groups are 5–15 KB. */
export const MAX_SAML_RESPONSE_CHARS = 256 * 1024;

export const ACCEPTED_SIGNATURE_ALGORITHMS: readonly string[] = [
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
];
export const ACCEPTED_DIGEST_ALGORITHMS: readonly string[] = ['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512'];

const ID_ATTRIBUTES = ['ID', 'Id', 'id'];

/** Element levels: real responses use about 10 (Response, Assertion, Signature, KeyInfo, X509Data, …); deeper ones only exhaust parsers' stacks. */
export const MAX_NESTING_DEPTH = 40;

function refuseDeepNesting(root: Element): void {
  const depth = nestingDepth(root);
  if (depth > MAX_NESTING_DEPTH) throw new SamlLoginError('structure', `at most ${MAX_NESTING_DEPTH} element levels`, `${depth} levels`);
}

export interface ResponseShape {
  /** The base64 text as node-saml is to decode it (white space removed). */
  readonly base64: string;
  readonly response: Element;
  /** The Assertion or EncryptedAssertion; after withDecryptedAssertion, the Assertion decrypted from it. */
  readonly assertion: Element;
  readonly encrypted: boolean;
  readonly responseSigned: boolean;
  readonly assertionSigned: boolean;
  /** From the Response element: trustworthy only where the response signature verified. */
  readonly destination: string | null;
  readonly inResponseTo: string | null;
  /** Certificates the signatures' KeyInfo name: never trusted, only named in a refusal. */
  readonly keyInfoCertificates: readonly string[];
}

function decode(samlResponse: string): { base64: string; xml: string } {
  if (samlResponse.length > MAX_SAML_RESPONSE_CHARS) {
    throw new SamlLoginError('too-large', `at most ${MAX_SAML_RESPONSE_CHARS} characters`, `${samlResponse.length} characters`);
  }
  const base64 = samlResponse.replace(/[\r\n\t ]/g, '');
  if (base64 === '' || base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
    throw new SamlLoginError('malformed', 'base64 text', 'text that is not base64');
  }
  try {
    return { base64, xml: new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(base64, 'base64')) };
  } catch {
    throw new SamlLoginError('malformed', 'UTF-8 XML', 'bytes that are not UTF-8');
  }
}

function refuseDeclarations(xml: string): void {
  const declaration = declarationIn(xml);
  if (declaration !== null) throw new SamlLoginError('doctype', 'no document type declaration', declaration);
}

function nameOf(element: Element): string {
  return element.namespaceURI ? `{${element.namespaceURI}}${element.localName}` : element.localName ?? element.nodeName;
}

function refuseDuplicateIds(elements: readonly Element[]): void {
  const seen = new Set<string>();
  for (const element of elements) {
    for (const name of ID_ATTRIBUTES) {
      const id = attribute(element, name);
      if (id === null) continue;
      if (seen.has(id)) throw new SamlLoginError('structure', 'each ID once', `ID ${id} twice`);
      seen.add(id);
    }
  }
}

/** The one Signature a signed element may carry: a direct child, one reference to its parent's ID, accepted algorithms. */
function checkSignature(signature: Element, parent: Element): void {
  const signedInfo = childElements(signature, NS_DSIG, 'SignedInfo');
  const references = signedInfo.length === 1 ? childElements(signedInfo[0]!, NS_DSIG, 'Reference') : [];
  if (references.length !== 1) {
    throw new SamlLoginError('structure', 'one SignedInfo with one Reference', `${signedInfo.length} SignedInfo, ${references.length} Reference`);
  }
  const id = attribute(parent, 'ID');
  const uri = attribute(references[0]!, 'URI');
  if (id === null || uri !== `#${id}`) {
    throw new SamlLoginError('structure', `a signature over its own ${parent.localName} (#${id ?? '?'})`, `a signature over ${uri ?? '(no URI)'}`);
  }
  const method = attribute(firstChild(signedInfo[0]!, NS_DSIG, 'SignatureMethod'), 'Algorithm');
  if (method === null || !ACCEPTED_SIGNATURE_ALGORITHMS.includes(method)) {
    throw new SamlLoginError('weak-algorithm', ACCEPTED_SIGNATURE_ALGORITHMS.join(' or '), method);
  }
  const digest = attribute(firstChild(references[0]!, NS_DSIG, 'DigestMethod'), 'Algorithm');
  if (digest === null || !ACCEPTED_DIGEST_ALGORITHMS.includes(digest)) {
    throw new SamlLoginError('weak-algorithm', ACCEPTED_DIGEST_ALGORITHMS.join(' or '), digest);
  }
}

function keyInfoCertificates(signatures: readonly Element[]): string[] {
  return signatures.flatMap((signature) =>
    allElements(signature)
      .filter((element) => isElement(element, NS_DSIG, 'X509Certificate'))
      .map((element) => textOf(element).replace(/\s/g, '')),
  );
}

/** What a non-Success status says, for the refusal; null when the status is Success or absent. */
function failedStatus(response: Element): string | null {
  const status = firstChild(response, NS_PROTOCOL, 'Status');
  const code = status ? firstChild(status, NS_PROTOCOL, 'StatusCode') : null;
  const value = attribute(code, 'Value');
  if (value === null || value === 'urn:oasis:names:tc:SAML:2.0:status:Success') return null;
  const nested = code ? attribute(firstChild(code, NS_PROTOCOL, 'StatusCode'), 'Value') : null;
  const message = status ? firstChild(status, NS_PROTOCOL, 'StatusMessage') : null;
  return [value, nested, message ? textOf(message) : null].filter((part) => part !== null).join(' ');
}

function refuseUnsigned(): never {
  throw new SamlLoginError('unsigned', 'a signature on the Response or the Assertion', 'no signature');
}

export function readResponseShape(samlResponse: string): ResponseShape {
  const { base64, xml } = decode(samlResponse);
  refuseDeclarations(xml);
  const doc = parseXml(xml);
  if (doc === null) throw new SamlLoginError('malformed', 'well-formed XML', 'XML the parser refuses');
  const response = doc.documentElement!;
  if (!isElement(response, NS_PROTOCOL, 'Response')) {
    throw new SamlLoginError('malformed', `{${NS_PROTOCOL}}Response`, nameOf(response));
  }
  refuseDeepNesting(response);
  const elements = allElements(response);
  refuseDuplicateIds(elements);

  const assertions = elements.filter((element) => isElement(element, NS_ASSERTION, 'Assertion') || isElement(element, NS_ASSERTION, 'EncryptedAssertion'));
  if (assertions.length === 0) {
    const status = failedStatus(response);
    if (status !== null) throw new SamlLoginError('idp-status', 'urn:oasis:names:tc:SAML:2.0:status:Success', status);
    throw new SamlLoginError('no-assertion', 'one assertion', 'none');
  }
  if (assertions.length > 1) throw new SamlLoginError('structure', 'one assertion', `${assertions.length} assertions`);
  const assertion = assertions[0]!;
  if (assertion.parentNode !== response) {
    throw new SamlLoginError('structure', 'the assertion as a child of the Response', `an assertion inside ${nameOf(assertion.parentNode as Element)}`);
  }

  const signatures = elements.filter((element) => isElement(element, NS_DSIG, 'Signature'));
  for (const signature of signatures) {
    const parent = signature.parentNode as Element;
    if (parent !== response && parent !== assertion) {
      throw new SamlLoginError('structure', 'signatures on the Response or the Assertion only', `a signature inside ${nameOf(parent)}`);
    }
    checkSignature(signature, parent);
  }
  const responseSignatures = childElements(response, NS_DSIG, 'Signature').length;
  const assertionSignatures = childElements(assertion, NS_DSIG, 'Signature').length;
  if (responseSignatures > 1 || assertionSignatures > 1) {
    throw new SamlLoginError('structure', 'at most one signature on each', `${responseSignatures} on the Response, ${assertionSignatures} on the Assertion`);
  }
  const encrypted = assertion.localName === 'EncryptedAssertion';
  // An encrypted assertion's own signature is inside the ciphertext: withDecryptedAssertion looks at it.
  if (responseSignatures === 0 && assertionSignatures === 0 && !encrypted) refuseUnsigned();
  return {
    base64,
    response,
    assertion,
    encrypted,
    responseSigned: responseSignatures === 1,
    assertionSigned: assertionSignatures === 1,
    destination: attribute(response, 'Destination'),
    inResponseTo: attribute(response, 'InResponseTo'),
    keyInfoCertificates: keyInfoCertificates(signatures),
  };
}

/**
 * For an EncryptedAssertion: the same checks on the assertion inside (no declaration, one
 * Assertion as the root, its signature over itself with accepted algorithms, no duplicate
 * IDs), so that a signature inside the ciphertext is held to the rules of one outside it.
 * `decrypt` is node-saml's own, so both read the same plaintext.
 */
export async function withDecryptedAssertion(shape: ResponseShape, decrypt: (encryptedXml: string) => Promise<string>): Promise<ResponseShape> {
  if (!shape.encrypted) return shape;
  let xml: string;
  try {
    xml = await decrypt(shape.assertion.toString());
  } catch (error) {
    throw new SamlLoginError('decryption-failed', 'an assertion encrypted to the SP key', error instanceof Error ? error.message : String(error), { cause: error });
  }
  refuseDeclarations(xml);
  const doc = parseXml(xml);
  const assertion = doc?.documentElement ?? null;
  if (!isElement(assertion, NS_ASSERTION, 'Assertion')) {
    throw new SamlLoginError('structure', 'one Assertion inside the EncryptedAssertion', assertion ? nameOf(assertion) : 'XML the parser refuses');
  }
  refuseDeepNesting(assertion);
  const elements = allElements(assertion);
  refuseDuplicateIds([...allElements(shape.response), ...elements]);
  if (elements.some((element) => isElement(element, NS_ASSERTION, 'Assertion') && element !== assertion)) {
    throw new SamlLoginError('structure', 'one assertion', 'an assertion inside the encrypted assertion');
  }
  const signatures = elements.filter((element) => isElement(element, NS_DSIG, 'Signature'));
  for (const signature of signatures) {
    if (signature.parentNode !== assertion) throw new SamlLoginError('structure', 'a signature on the Assertion only', `a signature inside ${nameOf(signature.parentNode as Element)}`);
    checkSignature(signature, assertion);
  }
  if (signatures.length > 1) throw new SamlLoginError('structure', 'at most one signature on the Assertion', `${signatures.length}`);
  if (signatures.length === 0 && !shape.responseSigned) refuseUnsigned();
  return { ...shape, assertion, assertionSigned: signatures.length === 1, keyInfoCertificates: [...shape.keyInfoCertificates, ...keyInfoCertificates(signatures)] };
}

/** SHA-256 fingerprint (AA:BB:…) of a base64 DER or PEM certificate, or null when it does not parse. */
export function fingerprintOf(certificate: string): string | null {
  try {
    const pem = certificate.includes('-----BEGIN') ? certificate : `-----BEGIN CERTIFICATE-----\n${certificate}\n-----END CERTIFICATE-----`;
    return new X509Certificate(pem).fingerprint256;
  } catch {
    return null;
  }
}
