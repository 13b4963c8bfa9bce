import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactSign, decodeJwt } from 'jose';
import Provider from 'oidc-provider';

/**
 * A real OpenID provider (panva/oidc-provider) on a loopback port for sign-in tests: the code
 * flow with its development login form (any password), consent granted at once, and a switch
 * that rewrites the ID token in the token response, to play a compromised or broken provider.
 * (Named apart from oidc-provider.d.ts, which declares the package's types.)
 */
export type IdTokenTamper = 'other-key' | 'alg-none' | 'expired' | 'wrong-nonce' | 'wrong-audience';

export interface LoginProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Provider groups of an account (login name), read at each sign-in. */
  readonly groups: Map<string, string[]>;
  /** When set, the next token responses carry an ID token altered this way. */
  tamper: IdTokenTamper | null;
  /** Authorization requests the provider saw (query parameters). */
  readonly authorizationRequests: URLSearchParams[];
  close(): Promise<void>;
}

interface KoaLikeContext {
  method: string;
  path: string;
  body: unknown;
}

function signWith(payload: object, key: KeyObject, kid: string): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(key);
}

export async function startLoginProvider(options: { redirectUris: string[]; host?: string; clientId?: string; clientSecret?: string }): Promise<LoginProvider> {
  const host = options.host ?? '127.0.0.2';
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = 'provider-key';
  const clientId = options.clientId ?? 'capsule';
  const clientSecret = options.clientSecret ?? 'a-client-secret-of-some-length';
  const groups = new Map<string, string[]>();
  const authorizationRequests: URLSearchParams[] = [];

  const configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: options.redirectUris,
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' }] },
    scopes: ['openid', 'profile', 'email', 'groups'],
    claims: { openid: ['sub'], email: ['email'], profile: ['name'], groups: ['groups'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    ttl: { AuthorizationCode: 60, IdToken: 3600, AccessToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
    findAccount: (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: () => ({ sub: id, email: `${id}@example.test`, name: id, groups: groups.get(id) ?? [] }),
    }),
    // Consent is not what these tests are about: every request is granted what it asks.
    loadExistingGrant: async (ctx: {
      oidc: { client: { clientId: string }; session: { accountId: string; grantIdFor(id: string): string | undefined }; provider: { Grant: GrantClass } };
    }) => {
      const { Grant } = ctx.oidc.provider;
      const existing = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (existing) {
        const grant = await Grant.find(existing);
        if (grant) return grant;
      }
      const grant = new Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid profile email groups');
      grant.addOIDCClaims(['sub', 'email', 'name', 'groups']);
      await grant.save();
      return grant;
    },
  };
  const provider = new Provider(issuer, configuration as ConstructorParameters<typeof Provider>[1]) as Provider & {
    use(middleware: (ctx: KoaLikeContext, next: () => Promise<void>) => Promise<void>): void;
  };
  const state: { tamper: IdTokenTamper | null } = { tamper: null };
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== '/token' || state.tamper === null) return;
    const body = ctx.body as { id_token?: string } | undefined;
    if (!body?.id_token) return;
    const claims = decodeJwt(body.id_token);
    const now = Math.floor(Date.now() / 1000);
    let idToken: string;
    switch (state.tamper) {
      case 'other-key':
        idToken = await signWith(claims, otherKey, kid);
        break;
      case 'alg-none':
        idToken = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
        break;
      case 'expired':
        idToken = await signWith({ ...claims, iat: now - 7200, exp: now - 3600 }, privateKey, kid);
        break;
      case 'wrong-nonce':
        idToken = await signWith({ ...claims, nonce: 'not-the-nonce-capsule-sent' }, privateKey, kid);
        break;
      case 'wrong-audience':
        idToken = await signWith({ ...claims, aud: 'another-client' }, privateKey, kid);
        break;
    }
    ctx.body = { ...body, id_token: idToken };
  });

  const handle = provider.callback();
  server.on('request', (request, response) => {
    const url = new URL(request.url ?? '/', issuer);
    if (url.pathname === '/auth' && request.method === 'GET') authorizationRequests.push(url.searchParams);
    handle(request, response);
  });
  return {
    issuer,
    clientId,
    clientSecret,
    groups,
    get tamper() {
      return state.tamper;
    },
    set tamper(value) {
      state.tamper = value;
    },
    authorizationRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface GrantInstance {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  save(): Promise<string>;
}
interface GrantClass {
  new (properties: { clientId: string; accountId: string }): GrantInstance;
  find(id: string): Promise<GrantInstance | undefined>;
}

/** A browser's cookies, by host name (as browsers do: not by port), paths ignored. */
export class CookieJar {
  private readonly cookies = new Map<string, Map<string, string>>();

  store(url: string, response: Response): void {
    const host = new URL(url).hostname;
    const jar = this.cookies.get(host) ?? new Map<string, string>();
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      if (value === '' || /max-age=0\b/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    this.cookies.set(host, jar);
  }

  get(url: string, name: string): string | undefined {
    return this.cookies.get(new URL(url).hostname)?.get(name);
  }

  set(url: string, name: string, value: string): void {
    const host = new URL(url).hostname;
    const jar = this.cookies.get(host) ?? new Map<string, string>();
    jar.set(name, value);
    this.cookies.set(host, jar);
  }

  header(url: string): string {
    return [...(this.cookies.get(new URL(url).hostname) ?? new Map<string, string>())].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** A request that sends this jar's cookies and keeps the ones set; redirects are not followed. */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.header(url);
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.store(url, response);
    return response;
  }
}

function location(response: Response, base: string): string {
  const target = response.headers.get('location');
  if (!target) throw new Error(`expected a redirect from ${base}, got ${response.status}`);
  return new URL(target, base).href;
}

/**
 * Everything a browser does between "Sign in with …" and the provider's redirect back: returns
 * the callback URL (code and state) without requesting it, so a test can send it, or tamper first.
 */
export async function signInAtProvider(
  jar: CookieJar,
  capsuleUrl: string,
  options: { provider: string; login: string; resource?: string; onStart?: (response: Response) => void },
): Promise<string> {
  const start = `${capsuleUrl}/system/sling/oidc/login/${options.provider}${options.resource ? `?resource=${encodeURIComponent(options.resource)}` : ''}`;
  const started = await jar.fetch(start);
  options.onStart?.(started);
  let url = location(started, start);
  // Follow the provider's redirects; answer its login form once (a provider session skips it).
  for (let hops = 0; hops < 8 && !url.startsWith(capsuleUrl); hops++) {
    if (/\/interaction\/[^/]+$/.test(new URL(url).pathname)) {
      const form = new URLSearchParams({ prompt: 'login', login: options.login, password: 'any password' });
      url = location(await jar.fetch(url, { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } }), url);
    } else {
      url = location(await jar.fetch(url), url);
    }
  }
  if (!url.startsWith(capsuleUrl)) throw new Error(`the provider did not redirect back to Capsule: ${url}`);
  return url;
}
