import type { FarmManifestV2 } from './manifest.js';

export interface RemoteHaproxyOptions {
  readonly bind: string;
  readonly intervalMs: number;
  readonly fall: number;
  readonly rise: number;
}

export const DEFAULT_HAPROXY_OPTIONS: RemoteHaproxyOptions = { bind: '127.0.0.1:8080', intervalMs: 2000, fall: 2, rise: 2 };

/**
 * The load balancer for the publish members of a manifest: round robin without stickiness
 * (encapsulated tokens verify anywhere), readiness checks, and a failed request sent again to
 * another member. The same shape as the local farm's (../haproxy-config.ts).
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
  return [
    "# Written by 'capsule farm haproxy-config' from the farm manifest (the publish members).",
    '# Run with: haproxy -W -db -f haproxy.cfg',
    'global',
    '    maxconn 4096',
    '',
    'defaults',
    '    mode http',
    '    timeout connect 2s',
    '    timeout client 30s',
    '    timeout server 30s',
    '    timeout check 2s',
    '    # A request whose member fails is sent again to another one, up to three times.',
    '    retries 3',
    '    option redispatch 1',
    '    retry-on conn-failure empty-response response-timeout',
    '',
    'frontend capsule',
    `    bind ${options.bind}`,
    '    # The members trust this load balancer (capsule.http proxies.trusted) for the client address:',
    '    # drop what a client claims, then add the address HAProxy saw.',
    '    http-request del-header x-forwarded-for',
    '    http-request del-header x-forwarded-proto',
    '    http-request del-header x-forwarded-host',
    '    option forwardfor',
    '    default_backend publish',
    '',
    'backend publish',
    '    # No stickiness: any member verifies any encapsulated token.',
    '    balance roundrobin',
    '    # Readiness, not the whole health: a third party that is down takes no member out.',
    '    option httpchk GET /system/health/ready',
    '    http-check expect status 200',
    `    default-server inter ${options.intervalMs}ms fall ${options.fall} rise ${options.rise}`,
    ...servers,
    '',
  ].join('\n');
}
