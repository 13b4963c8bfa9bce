import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export interface ProviderClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Scopes the client may ask for. */
  readonly scope?: string;
}

export interface TestProvider {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  /** Requests that reached the token endpoint. */
  readonly tokenRequests: number;
  /** Access tokens the provider issued. */
  readonly grants: number;
  /** The client and scope of an access token the provider issued, or undefined. */
  lookup(accessToken: string): Promise<{ clientId: string; scope?: string } | undefined>;
  close(): Promise<void>;
}

export const TOKEN_TTL_S = 600;

/** A real OpenID provider (panva/oidc-provider) on a free loopback port, with client-credentials clients. */
export async function startOAuthProvider(clients: readonly ProviderClient[]): Promise<TestProvider> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const provider = new Provider(issuer, {
    clients: clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: client.authMethod ?? 'client_secret_basic',
      ...(client.scope ? { scope: client.scope } : {}),
    })),
    features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
    scopes: ['read', 'write'],
    ttl: { ClientCredentials: TOKEN_TTL_S },
    jwks: { keys: [{ ...signingKey, kid: 'test', use: 'sig', alg: 'RS256' }] },
  });
  let tokenRequests = 0;
  let grants = 0;
  provider.on('client_credentials.saved', () => grants++);
  const handle = provider.callback();
  server.on('request', (request, response) => {
    if (request.method === 'POST' && request.url === '/token') tokenRequests++;
    handle(request, response);
  });
  return {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    get tokenRequests() {
      return tokenRequests;
    },
    get grants() {
      return grants;
    },
    async lookup(accessToken) {
      const token = await provider.ClientCredentials.find(accessToken);
      return token && { clientId: token.clientId, ...(token.scope ? { scope: token.scope } : {}) };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
