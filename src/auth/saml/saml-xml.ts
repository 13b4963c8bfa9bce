import { DOMParser } from '@xmldom/xmldom';

/** Namespaces and the few DOM walks the SAML checks share. */
export const NS_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const NS_ASSERTION = 'urn:oasis:names:tc:SAML:2.0:assertion';
export const NS_DSIG = 'http://www.w3.org/2000/09/xmldsig#';

/**
 * Parses XML with the same library (and major version) node-saml verifies with, so both read the
 * same tree. Any parser error or warning is a refusal: a document that only parses leniently is
 * not one a correct identity provider sends. Returns null rather than printing to stderr.
 */
export function parseXml(xml: string): Document | null {
  let failed = false;
  const onProblem = () => {
    failed = true;
  };
  try {
    const doc = new DOMParser({ errorHandler: { warning: onProblem, error: onProblem, fatalError: onProblem } }).parseFromString(xml, 'text/xml');
    return failed || !doc?.documentElement ? null : doc;
  } catch {
    return null;
  }
}

/** The start of a `<!DOCTYPE`, `<!ENTITY` or any other declaration, or null: only comments and CDATA may start with `<!`. */
export function declarationIn(xml: string): string | null {
  const declaration = /<!(?!--|\[CDATA\[)/.exec(xml);
  return declaration ? xml.slice(declaration.index, declaration.index + 40) : null;
}

export function isElement(node: Node | null | undefined, namespace: string, localName: string): node is Element {
  return node?.nodeType === 1 && (node as Element).namespaceURI === namespace && (node as Element).localName === localName;
}

/** Element children of `parent` with this name, in document order. */
export function childElements(parent: Element | Document, namespace: string, localName: string): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (isElement(node, namespace, localName)) found.push(node);
  }
  return found;
}

export function firstChild(parent: Element, namespace: string, localName: string): Element | null {
  return childElements(parent, namespace, localName)[0] ?? null;
}

/** Every element below `root` (itself included), in document order. Iterative: a sender chooses the depth. */
export function allElements(root: Element): Element[] {
  const found: Element[] = [];
  const pending: Element[] = [root];
  while (pending.length > 0) {
    const element = pending.pop()!;
    found.push(element);
    for (let node = element.lastChild; node; node = node.previousSibling) {
      if (node.nodeType === 1) pending.push(node as Element);
    }
  }
  return found;
}

/** How many element levels `root` holds (1 for an element without element children). */
export function nestingDepth(root: Element): number {
  let deepest = 0;
  const pending: [Element, number][] = [[root, 1]];
  while (pending.length > 0) {
    const [element, depth] = pending.pop()!;
    deepest = Math.max(deepest, depth);
    for (let node = element.firstChild; node; node = node.nextSibling) {
      if (node.nodeType === 1) pending.push([node as Element, depth + 1]);
    }
  }
  return deepest;
}

/** The text of an element's text and CDATA descendants; comments are left out, never cut the value short. */
export function textOf(element: Element): string {
  let text = '';
  const pending: Node[] = [element];
  while (pending.length > 0) {
    const node = pending.pop()!;
    if (node.nodeType === 3 || node.nodeType === 4) text += node.nodeValue ?? '';
    else if (node.nodeType === 1) for (let child = node.lastChild; child; child = child.previousSibling) pending.push(child);
  }
  return text;
}

export function attribute(element: Element | null, name: string): string | null {
  return element?.hasAttribute(name) ? element.getAttribute(name) : null;
}
