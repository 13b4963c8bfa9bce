import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { defineComponent, HTTP_PID, property, type ConfigAdmin, type PropertyDefinition } from '../config/index.js';

export { HTTP_PID };

const CIDR = /^(?<address>[^/]+)(?:\/(?<bits>\d{1,3}))?$/;

/** An address or a CIDR block (`10.0.0.0/8`, `::1`); the error names the value. */
function parseProxy(entry: string): { address: string; bits: number | null; family: 'ipv4' | 'ipv6' } | null {
  const match = CIDR.exec(entry.trim());
  const address = match?.groups?.address ?? '';
  const version = isIP(address);
  if (version === 0) return null;
  const bits = match?.groups?.bits === undefined ? null : Number(match.groups.bits);
  if (bits !== null && bits > (version === 4 ? 32 : 128)) return null;
  return { address, bits, family: version === 4 ? 'ipv4' : 'ipv6' };
}

const trustedProxiesProperty: PropertyDefinition = {
  ...property.stringList({
    title: 'Trusted proxies',
    description:
      'Addresses or CIDR blocks of the load balancers and proxies in front of this instance. Only their X-Forwarded-For and X-Forwarded-Proto are believed (for the client address that login throttling counts, and for HTTPS). Empty: none is trusted.',
    default: [],
  }),
  schema: z.array(z.string().refine((entry) => parseProxy(entry) !== null, { message: 'give an IP address or a CIDR block such as 10.0.0.0/8' })),
};

export const httpComponent = defineComponent({
  pid: HTTP_PID,
  title: 'HTTP Server',
  description: 'How this instance reads requests that reach it through a load balancer or a TLS-terminating proxy.',
  properties: { 'proxies.trusted': trustedProxiesProperty },
});

export interface TrustedProxies {
  /** Whether a peer at `address` may speak for the client (Fastify's `trustProxy` function). */
  isTrusted(address: string): boolean;
}

function compile(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const proxy = parseProxy(entry);
    if (!proxy) continue; // the schema refused it on write
    if (proxy.bits === null) list.addAddress(proxy.address, proxy.family);
    else list.addSubnet(proxy.address, proxy.bits, proxy.family);
  }
  return list;
}

/** The configured proxies, followed live: a change applies to the next request. */
export function createTrustedProxies(config: ConfigAdmin): TrustedProxies {
  const read = () => (config.current(HTTP_PID)['proxies.trusted'] as readonly string[] | undefined) ?? [];
  let entries = read();
  let list = compile(entries);
  config.onChange(HTTP_PID, () => {
    entries = read();
    list = compile(entries);
  });
  return {
    isTrusted(address) {
      if (entries.length === 0) return false;
      // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
      const mapped = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
      const family = isIP(mapped) === 4 ? 'ipv4' : 'ipv6';
      return list.check(mapped, family);
    },
  };
}
