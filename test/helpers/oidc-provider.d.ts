// oidc-provider ships no types; this declares the little the tests use.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    grant_types?: string[];
    response_types?: string[];
    redirect_uris?: string[];
    token_endpoint_auth_method?: string;
    scope?: string;
  }

  interface Configuration {
    clients?: ClientMetadata[];
    features?: Record<string, { enabled: boolean }>;
    scopes?: string[];
    ttl?: Record<string, number>;
    jwks?: { keys: object[] };
  }

  interface IssuedClientCredentials {
    readonly clientId: string;
    readonly scope?: string;
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    callback(): (request: IncomingMessage, response: ServerResponse) => void;
    on(event: 'client_credentials.saved', listener: (token: IssuedClientCredentials) => void): this;
    ClientCredentials: { find(value: string): Promise<IssuedClientCredentials | undefined> };
  }
}
