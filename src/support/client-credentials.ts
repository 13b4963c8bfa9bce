/** RFC 6749 2.3.1: client id and secret are form-urlencoded before they go into Basic. */
export function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/** The value of `Authorization: Basic …` for a client id and secret. */
export function basicCredential(clientId: string, clientSecret: string): string {
  return Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64');
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Cuts a client secret out of text from a provider, should it echo it back: in clear, and in
 * every form we sent it in or a server might decode or re-encode it to (percent- and
 * form-encoded, in either hex case, base64, and the Basic credential).
 */
export function secretRedactor(clientId: string, clientSecret: string): (text: string) => string {
  if (clientSecret.length === 0) return (text) => text;
  const forms = new Set([
    clientSecret,
    encodeURIComponent(clientSecret),
    formEncode(clientSecret),
    new URLSearchParams({ s: clientSecret }).toString().slice(2),
    Buffer.from(clientSecret).toString('base64'),
    Buffer.from(clientSecret).toString('base64url'),
    basicCredential(clientId, clientSecret),
  ]);
  // Longest first, so that a form containing another is cut whole; hex digits in either case.
  const pattern = [...forms]
    .sort((a, b) => b.length - a.length)
    .map((form) => escapeRegExp(form).replace(/%([0-9A-F]{2})/g, (_match, hex: string) => `%(?:${hex}|${hex.toLowerCase()})`))
    .join('|');
  const matcher = new RegExp(pattern, 'g');
  return (text) => text.replace(matcher, '[redacted]');
}
