import { isSafeForCredentials } from './loopback.js';

/**
 * Where a configured URL (a replication agent's publish, an identity provider) would make Capsule
 * send a password, a client secret or a sign-in in clear over a network: plain http to a host that
 * is not this machine. Null when the URL is fine, or no URL at all (its schema says so).
 */
export function plainHttpWarning(subject: string, text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' || isSafeForCredentials(url)) return null;
  // The origin alone: a URL may carry a user and password, and its path is no help here.
  return `${subject} uses plain http to another machine (${url.origin}): Capsule sends no credentials there in clear, so it will not work; use an https URL (plain http is for loopback addresses only)`;
}
