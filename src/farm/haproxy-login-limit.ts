import { CapsuleError } from '../errors.js';

/** One HAProxy node of several in front of the farm: they share the login counts. */
export interface HaproxyPeer {
  readonly name: string;
  /** `host:port` (an IPv6 host in brackets) where the node listens for its peers. */
  readonly address: string;
}

export interface LoginRateLimit {
  /** Login POSTs one client address (an IPv6 /64) may send per minute; 0: no limit at the load balancer. */
  readonly perMinute: number;
  /** Every HAProxy node, this one included; none or one: a single load balancer. */
  readonly peers: readonly HaproxyPeer[];
}

export const DEFAULT_LOGINS_PER_MINUTE = 30;
export const PEERS_SECTION = 'capsule';
export const MAX_LOGINS_PER_MINUTE = 100_000;

/**
 * Password guesses are counted per client address at the load balancer, across every publish
 * (a member alone sees 1/N of them) and, with peers, across every HAProxy node. Only POSTs to
 * the password login are counted: a SAML ACS POST carries an assertion the IdP signed, which
 * cannot be guessed, and people coming back from their IdP together behind one NAT must not be
 * refused. IPv4 clients are counted by address, IPv6 clients by /64, as the members count them.
 */
export function loginLimitLines(limit: LoginRateLimit): { sections: string[]; rules: string[] } {
  if (limit.perMinute === 0) return { sections: [], rules: [] };
  const shared = limit.peers.length > 1;
  const peers = shared
    ? [
        '# The HAProxy nodes share the login counts; start each with -L NAME, its name below.',
        `peers ${PEERS_SECTION}`,
        ...limit.peers.map((peer) => `    peer ${peer.name} ${peer.address}`),
        '',
      ]
    : [];
  const body = JSON.stringify({ error: { code: 'TOO_MANY_REQUESTS', message: 'too many logins from your address; try again in a minute' } });
  return {
    sections: [
      ...peers,
      '# Login POSTs per client address (IPv6 by /64) over the last minute.',
      'backend login_attempts',
      `    stick-table type ipv6 size 1m expire 2m store http_req_rate(1m)${shared ? ` peers ${PEERS_SECTION}` : ''}`,
      '',
    ],
    rules: [
      `    # At most ${limit.perMinute} login POSTs per client address a minute, on all publishes together; then 429.`,
      '    acl login_post method POST',
      '    acl login_path path /j_security_check',
      '    http-request track-sc0 src,ipmask(32,64) table login_attempts if login_post login_path',
      `    http-request deny deny_status 429 content-type application/json string '${body}' hdr retry-after 60 if login_post login_path { sc0_http_req_rate(login_attempts) gt ${limit.perMinute} }`,
    ],
  };
}


const PEER = /^(?<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,63})=(?<address>(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5})$/;

/** `--haproxy-peer NAME=HOST:PORT` (an IPv6 host in brackets). */
export function parseHaproxyPeer(text: string): HaproxyPeer {
  const match = PEER.exec(text.trim());
  const port = Number(match?.groups?.address?.slice(match.groups.address.lastIndexOf(':') + 1));
  if (!match?.groups?.name || !match.groups.address || port < 1 || port > 65535) {
    throw new CapsuleError('INVALID_ARGUMENT', `--haproxy-peer '${text}': give NAME=HOST:PORT, such as lb-1=10.0.0.5:10000 (an IPv6 host in brackets)`);
  }
  return { name: match.groups.name, address: match.groups.address };
}

/** The login limit the options give: every node named once, and two at least when any is. */
export function loginRateLimit(perMinute: number, peers: readonly HaproxyPeer[]): LoginRateLimit {
  if (!Number.isInteger(perMinute) || perMinute < 0 || perMinute > MAX_LOGINS_PER_MINUTE) {
    throw new CapsuleError('INVALID_ARGUMENT', `--login-limit ${perMinute}: give a whole number of login POSTs per client address a minute, 0 (no limit) to ${MAX_LOGINS_PER_MINUTE}`);
  }
  if (peers.length === 1) throw new CapsuleError('INVALID_ARGUMENT', '--haproxy-peer: name every HAProxy node, this one included (two at least), or none for a single load balancer');
  const names = peers.map((peer) => peer.name);
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice) throw new CapsuleError('INVALID_ARGUMENT', `--haproxy-peer: ${twice} is named twice; give each node its own name`);
  return { perMinute, peers };
}
