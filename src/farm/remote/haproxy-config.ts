import { CapsuleError } from '../../errors.js';
import { renderLoadBalancer } from '../haproxy-config.js';
import { DEFAULT_LOGINS_PER_MINUTE, type LoginRateLimit } from '../haproxy-login-limit.js';
import type { FarmManifestV2 } from './manifest.js';

export interface RemoteHaproxyOptions {
  readonly bind: string;
  readonly intervalMs: number;
  readonly fall: number;
  readonly rise: number;
  readonly loginLimit: LoginRateLimit;
  /** The first comment lines, when the file is written by another command than haproxy-config. */
  readonly header?: readonly string[];
}

export const DEFAULT_HAPROXY_OPTIONS: RemoteHaproxyOptions = {
  bind: '127.0.0.1:8080',
  intervalMs: 2000,
  fall: 2,
  rise: 2,
  loginLimit: { perMinute: DEFAULT_LOGINS_PER_MINUTE, peers: [] },
};

/**
 * `--bind`: HAProxy's bind address needs its port (`bind 0.0.0.0` alone is refused when HAProxy
 * starts, long after the file was written). The address may be empty (every address), `*`, a name,
 * IPv4, or IPv6 in brackets.
 */
export function parseBind(text: string): string {
  const match = /^(.*):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65535 || /\s|,/.test(match[1]!)) {
    throw new CapsuleError('INVALID_ARGUMENT', `--bind '${text}': --bind needs ADDRESS:PORT (e.g. 0.0.0.0:8080, or [::]:8080 for IPv6); nothing was written`);
  }
  return text.trim();
}

/**
 * The load balancer for the publish members of a manifest: round robin without stickiness
 * (encapsulated tokens verify anywhere), readiness checks, and a failed request sent again to
 * another member (the shape is ../haproxy-config.ts).
 */
export function renderRemoteHaproxyConfig(manifest: FarmManifestV2, options: RemoteHaproxyOptions = DEFAULT_HAPROXY_OPTIONS): string {
  const servers = manifest.members
    .filter((member) => member.role === 'publish')
    .map((member) => {
      const url = new URL(member.url);
      const port = url.port || (url.protocol === 'https:' ? '443' : '80');
      const tls = url.protocol === 'https:' ? ' ssl verify required ca-file @system-ca' : '';
      return `    server ${member.name} ${url.hostname}:${port} check${tls}`;
    });
  return renderLoadBalancer({
    header: options.header ?? [
      "# Written by 'capsule farm haproxy-config' from the farm manifest (the publish members).",
      options.loginLimit.peers.length > 1 ? '# Run each node with: haproxy -W -db -L NAME -f haproxy.cfg   (NAME: its peer name below)' : '# Run with: haproxy -W -db -f haproxy.cfg',
    ],
    bind: options.bind,
    check: options,
    servers,
    loginLimit: options.loginLimit,
  });
}
