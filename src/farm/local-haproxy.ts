import { DEFAULT_LOGINS_PER_MINUTE } from './haproxy-login-limit.js';
import type { LocalSettings } from './local-farm.js';
import type { FarmManifestV2 } from './remote/manifest.js';
import { renderRemoteHaproxyConfig } from './remote/haproxy-config.js';

/** The local farm's load balancer: its publishes, each on its own loopback address. */
export function renderLocalHaproxyConfig(manifest: FarmManifestV2, local: LocalSettings): string {
  return renderRemoteHaproxyConfig(manifest, {
    bind: `${local.loadBalancer.host}:${local.loadBalancer.port}`,
    ...local.healthCheck,
    // One HAProxy on this machine: no peers.
    loginLimit: { perMinute: local.loginsPerMinute ?? DEFAULT_LOGINS_PER_MINUTE, peers: [] },
    header: [
      `# Written by 'capsule farm init' from farm.json; 'capsule farm add-instance' writes it again.`,
      '# Run in the foreground with: haproxy -W -db -f haproxy.cfg   (capsule farm up does that)',
    ],
  });
}
