import { instancesOf, type FarmManifest, type FarmPaths } from './manifest.js';

/**
 * The load balancer of a farm. Round robin without stickiness (no `cookie`, no `stick-table`,
 * no `balance source`): encapsulated tokens make every instance able to serve every request.
 * A request that cannot reach its instance (refused, reset, no answer) is retried on another
 * (`retries`, `option redispatch 1`, `retry-on`), so losing an instance costs no request.
 */
export function renderHaproxyConfig(manifest: FarmManifest, paths: FarmPaths): string {
  const check = manifest.healthCheck;
  const servers = instancesOf(manifest, paths).map((instance) => `    server ${instance.name} 127.0.0.1:${instance.port} check`);
  return [
    `# Written by 'capsule farm' from farm.json; 'capsule farm add-instance' writes it again.`,
    '# Run in the foreground with: haproxy -W -db -f haproxy.cfg   (capsule farm up does that)',
    'global',
    '    maxconn 4096',
    '',
    'defaults',
    '    mode http',
    '    timeout connect 2s',
    '    timeout client 30s',
    '    timeout server 30s',
    '    timeout check 2s',
    '    # A request whose instance fails is sent again to another one, up to three times.',
    '    retries 3',
    '    option redispatch 1',
    '    retry-on conn-failure empty-response response-timeout',
    '',
    'frontend capsule',
    `    bind ${manifest.loadBalancer.host}:${manifest.loadBalancer.port}`,
    '    # The instances trust this load balancer (capsule.http proxies.trusted) for the client address:',
    '    # drop what a client claims, then add the address HAProxy saw.',
    '    http-request del-header x-forwarded-for',
    '    http-request del-header x-forwarded-proto',
    '    http-request del-header x-forwarded-host',
    '    option forwardfor',
    '    default_backend publish',
    '',
    'backend publish',
    '    # No stickiness: any instance verifies any encapsulated token.',
    '    balance roundrobin',
    "    # Readiness, not the whole health: a third party that is down (an OAuth provider) takes no instance out.",
    '    option httpchk GET /system/health/ready',
    '    http-check expect status 200',
    `    default-server inter ${check.intervalMs}ms fall ${check.fall} rise ${check.rise}`,
    ...servers,
    '',
  ].join('\n');
}
