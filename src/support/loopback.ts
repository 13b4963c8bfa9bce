/** A host name (as `URL.hostname` gives it) that can only mean this machine. */
const LOOPBACK_HOSTS = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/** Where a password or a client secret may go: https anywhere, plain http only to this machine. */
export function isSafeForCredentials(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.test(url.hostname));
}

/** The same for a URL as written (a configuration value): false when it is no URL at all. */
export function isSafeUrlForCredentials(text: string): boolean {
  try {
    return isSafeForCredentials(new URL(text));
  } catch {
    return false;
  }
}

/** A URL as written that carries a user name or password (`https://user:secret@host`). */
export function carriesCredentials(text: string): boolean {
  try {
    const url = new URL(text);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}
