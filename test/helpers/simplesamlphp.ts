import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePortOn } from './remote-farm.js';
import { tempDir } from './temp.js';

// A real, independent SAML 2.0 IdP for end-to-end tests: Debian's SimpleSAMLphp 1.19 under PHP's
// built-in server on a loopback address, with a config folder written per start (nothing in /etc).
//
// Pitfalls (the first two were tried: each breaks every sign-in):
// - baseurlpath: Debian's default is `simplesamlphp/` (its Apache alias). `php -S -t www` serves www/ at
//   the root, so it must be the full base URL: otherwise the metadata's SSO/SLO Locations and the login
//   redirect point under /simplesamlphp/ and the login page is a 404.
// - Cookies: Debian's sample config marks the session cookie Secure (and SameSite=None); over plain http
//   SimpleSAMLphp then answers every sign-in with "Setting secure cookie on plain HTTP is not allowed".
// - timezone: UTC, set here so a php.ini without date.timezone changes nothing (this machine's has one).
// - secretsalt and auth.adminpassword: Debian keeps them in /var/lib/simplesamlphp/secrets.inc.php,
//   read only by /etc/simplesamlphp/config.php; our config.php must set its own (random per start).
// - php-xml is required (DOM) but is not a dependency of Debian's simplesamlphp package.
// - exampleauth ships disabled and the SAML 2.0 IdP is off by default: both are enabled here.
// - Sessions are PHP sessions (cookie PHPSESSID) saved in this folder (the default path needs root).
// - admin.checkforupdates is off: the IdP must not reach beyond loopback.
// - `php -S` serves one request at a time: a browser loading the login page's CSS/JS waits in line.
// - SimpleSAMLphp re-reads metadata/*.php on every request, so setServiceProvider() needs no
//   restart, but only with opcache off: `php -S` is the "cli-server" SAPI, which
//   opcache.enable_cli=0 does not cover, and Debian's opcache (revalidate_freq=2) then served
//   the previous metadata for up to 2 s after a rewrite (seen under load). Started with -d opcache.enable=0.
// - An attribute with an empty list is still sent: an Attribute element with no AttributeValue.

export const SIMPLESAMLPHP_DIR = '/usr/share/simplesamlphp';

const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

export interface SamlTestUser {
  readonly username: string;
  readonly password: string;
  /** Sent as assertion attributes; `uid` is also the NameID. An empty list is sent as an Attribute with no AttributeValue. */
  readonly attributes: { readonly uid: string } & Readonly<Record<string, string | readonly string[]>>;
}

export interface SamlTestServiceProvider {
  readonly entityId: string;
  readonly acsUrl: string;
  readonly sloUrl?: string;
  /** The SP's certificate (PEM): checks signed AuthnRequests and encrypts assertions. */
  readonly certPem?: string;
  /** Refuse an AuthnRequest without a valid signature by `certPem` (`validate.authnrequest`). */
  readonly wantSignedRequests?: boolean;
  /** Encrypt the assertion for `certPem`. */
  readonly encryptAssertions?: boolean;
  /** Default true: both the Response and the Assertion are signed. */
  readonly signResponse?: boolean;
  readonly signAssertion?: boolean;
}

export interface SimpleSamlPhpOptions {
  /** Default 127.0.0.2: another site than Capsule on 127.0.0.1, as an IdP is in production. */
  readonly host?: string;
  readonly users: readonly SamlTestUser[];
  readonly sp: SamlTestServiceProvider;
}

export interface SimpleSamlPhp {
  readonly baseUrl: string;
  readonly entityId: string;
  readonly metadataUrl: string;
  /** HTTP-Redirect binding. */
  readonly ssoUrl: string;
  /** HTTP-Redirect binding. */
  readonly sloUrl: string;
  /** The IdP's signing certificate (PEM). */
  readonly certPem: string;
  /** The config folder (config/, metadata/, cert/, log/): removed by stop(). */
  readonly dir: string;
  metadataXml(): Promise<string>;
  /** An IdP-initiated sign-in for the SP (no AuthnRequest: the Response has no InResponseTo). */
  idpInitiatedUrl(relayState?: string): string;
  /** Replaces the SP's settings; SimpleSAMLphp reads them on its next request (no restart). */
  setServiceProvider(sp: SamlTestServiceProvider): void;
  /** What php -S wrote (its request log and any PHP error). */
  output(): string;
  /** Kills the php process by its PID, waits for its exit, and removes the config folder. */
  stop(): Promise<void>;
}

/** Why the IdP cannot run on this machine, or undefined when it can: use as a test's `skip`. */
export function simpleSamlPhpUnavailable(): string | undefined {
  if (!existsSync(join(SIMPLESAMLPHP_DIR, 'www', 'saml2', 'idp', 'metadata.php'))) return `SimpleSAMLphp is not installed (${SIMPLESAMLPHP_DIR}; apt-get install simplesamlphp)`;
  const php = spawnSync('php', ['-r', 'exit(extension_loaded("dom") && extension_loaded("openssl") ? 0 : 3);'], { stdio: 'ignore' });
  if (php.error) return 'php is not installed (apt-get install php-cli php-xml)';
  if (php.status !== 0) return 'php lacks the dom or openssl extension (apt-get install php-xml)';
  return undefined;
}

const running = new Set<ChildProcess>();
// A test runner's timeout ends this process without the test's stop(): the IdP must not outlive it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts SimpleSAMLphp as a SAML 2.0 IdP for one SP and waits until its metadata answers. */
export async function startSimpleSamlPhp(options: SimpleSamlPhpOptions): Promise<SimpleSamlPhp> {
  const host = options.host ?? '127.0.0.2';
  const dir = tempDir('capsule-simplesamlphp-');
  for (const sub of ['config', 'metadata', 'cert', 'sessions', 'tmp', 'log']) mkdirSync(join(dir, sub));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-sha256', '-nodes', '-days', '2', '-subj', '/CN=simplesamlphp-test-idp', '-keyout', join(dir, 'cert', 'idp.key'), '-out', join(dir, 'cert', 'idp.crt')], {
    stdio: 'ignore',
  });
  const certPem = readFileSync(join(dir, 'cert', 'idp.crt'), 'utf8');
  writeFileSync(join(dir, 'config', 'authsources.php'), authsourcesPhp(options.users));

  // The port was free on `host` a moment ago; another process may take it first, so try again then.
  for (let attempt = 1; ; attempt++) {
    const port = await freePortOn(host);
    const baseUrl = `http://${host}:${port}`;
    const entityId = `${baseUrl}/saml2/idp/metadata.php`;
    writeFileSync(join(dir, 'config', 'config.php'), configPhp(dir, baseUrl));
    writeFileSync(join(dir, 'metadata', 'saml20-idp-hosted.php'), idpHostedPhp(entityId));
    let sp = options.sp;
    writeFileSync(join(dir, 'metadata', 'saml20-sp-remote.php'), spRemotePhp(sp));
    const started = await startPhp(dir, host, port);
    if (started === 'port taken' && attempt < 5) continue;
    if (started === 'port taken') throw new Error(`php -S found no free port on ${host}`);
    const { child, output } = started;
    const metadataUrl = entityId;
    return {
      baseUrl,
      entityId,
      metadataUrl,
      ssoUrl: `${baseUrl}/saml2/idp/SSOService.php`,
      sloUrl: `${baseUrl}/saml2/idp/SingleLogoutService.php`,
      certPem,
      dir,
      metadataXml: async () => {
        const response = await fetch(metadataUrl);
        if (response.status !== 200) throw new Error(`IdP metadata answered ${response.status}:\n${output()}`);
        return response.text();
      },
      idpInitiatedUrl: (relayState) => `${baseUrl}/saml2/idp/SSOService.php?${new URLSearchParams({ spentityid: sp.entityId, ...(relayState === undefined ? {} : { RelayState: relayState }) })}`,
      setServiceProvider: (next) => {
        writeFileSync(join(dir, 'metadata', 'saml20-sp-remote.php'), spRemotePhp(next));
        sp = next;
      },
      output,
      stop: async () => {
        await stopChild(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

type Started = { child: ChildProcess; output: () => string } | 'port taken';

async function startPhp(dir: string, host: string, port: number): Promise<Started> {
  const child = spawn('php', ['-d', 'opcache.enable=0', '-S', `${host}:${port}`, '-t', join(SIMPLESAMLPHP_DIR, 'www')], {
    cwd: dir,
    env: { ...process.env, SIMPLESAMLPHP_CONFIG_DIR: join(dir, 'config') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  // php -S writes "Development Server (http://…) started" to stderr once it listens.
  const listening = new Promise<'listening' | 'exited'>((resolve) => {
    child.stderr!.on('data', (chunk) => {
      output += chunk;
      if (output.includes(') started')) resolve('listening');
    });
    child.once('exit', () => resolve('exited'));
    child.once('error', () => resolve('exited'));
  });
  const outcome = await withDeadline(listening, 15_000, () => `php -S did not start listening:\n${output}`).catch(async (error: unknown) => {
    await stopChild(child);
    throw error;
  });
  if (outcome === 'exited') {
    running.delete(child);
    if (output.includes('Address already in use')) return 'port taken';
    throw new Error(`php -S exited with ${child.exitCode}:\n${output}`);
  }
  // Listening is not yet serving SimpleSAMLphp: one real request proves the config loads.
  const metadataUrl = `http://${host}:${port}/saml2/idp/metadata.php`;
  const response = await fetch(metadataUrl).catch((error: unknown) => error as Error);
  const body = response instanceof Error ? response.message : await response.text();
  if (response instanceof Error || response.status !== 200 || !body.includes('EntityDescriptor')) {
    await stopChild(child);
    throw new Error(`SimpleSAMLphp metadata did not answer (${response instanceof Error ? body : response.status}):\n${body.slice(0, 2000)}\n${output}`);
  }
  return { child, output: () => output };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid!, 'SIGTERM');
    await exited;
  }
  running.delete(child);
}

function withDeadline<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function configPhp(dir: string, baseUrl: string): string {
  return phpFile({
    baseurlpath: `${baseUrl}/`,
    certdir: join(dir, 'cert') + '/',
    metadatadir: join(dir, 'metadata') + '/',
    tempdir: join(dir, 'tmp') + '/',
    datadir: join(dir, 'tmp') + '/',
    loggingdir: join(dir, 'log') + '/',
    'logging.handler': 'file',
    'logging.logfile': 'simplesamlphp.log',
    'logging.level': 6, // SimpleSAML\Logger::INFO
    secretsalt: randomBytes(24).toString('hex'),
    'auth.adminpassword': randomBytes(24).toString('hex'),
    technicalcontact_name: 'Capsule tests',
    technicalcontact_email: 'tests@example.invalid',
    timezone: 'UTC',
    'enable.saml20-idp': true,
    'module.enable': { exampleauth: true, core: true, saml: true },
    'store.type': 'phpsession',
    'session.phpsession.savepath': join(dir, 'sessions'),
    'session.cookie.secure': false,
    'session.cookie.samesite': null,
    'language.cookie.secure': false,
    'language.cookie.samesite': null,
    'admin.checkforupdates': false,
    production: true,
    showerrors: true,
    errorreporting: false,
  });
}

function authsourcesPhp(users: readonly SamlTestUser[]): string {
  const testUsers: Record<string, unknown> = { 0: 'exampleauth:UserPass' };
  for (const user of users) {
    // exampleauth splits "username:password" at the first colon.
    if (user.username.includes(':')) throw new Error(`a test user name cannot hold ':' (${user.username})`);
    const attributes: Record<string, readonly string[]> = {};
    for (const [name, value] of Object.entries(user.attributes)) attributes[name] = typeof value === 'string' ? [value] : value;
    testUsers[`${user.username}:${user.password}`] = attributes;
  }
  return phpFile({ admin: ['core:AdminPassword'], 'test-users': testUsers });
}

function idpHostedPhp(entityId: string): string {
  return phpFile(
    {
      [entityId]: {
        host: '__DEFAULT__',
        privatekey: 'idp.key',
        certificate: 'idp.crt',
        auth: 'test-users',
        'signature.algorithm': RSA_SHA256,
        NameIDFormat: PERSISTENT,
        'attributes.NameFormat': 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
      },
    },
    'metadata',
  );
}

function spRemotePhp(sp: SamlTestServiceProvider): string {
  if ((sp.wantSignedRequests || sp.encryptAssertions) && !sp.certPem) throw new Error('wantSignedRequests and encryptAssertions need the SP certificate (certPem)');
  const entry: Record<string, unknown> = {
    AssertionConsumerService: sp.acsUrl,
    NameIDFormat: PERSISTENT,
    'simplesaml.nameidattribute': 'uid',
    'saml20.sign.response': sp.signResponse ?? true,
    'saml20.sign.assertion': sp.signAssertion ?? true,
    'signature.algorithm': RSA_SHA256,
    'validate.authnrequest': sp.wantSignedRequests ?? false,
    'assertion.encryption': sp.encryptAssertions ?? false,
  };
  // Logout messages signed both ways (HTTP-Redirect query signature): Capsule refuses an unsigned LogoutRequest.
  if (sp.sloUrl) Object.assign(entry, { SingleLogoutService: sp.sloUrl, 'sign.logout': true });
  if (sp.certPem) entry['certData'] = sp.certPem.replace(/-----[^-]+-----|\s/g, '');
  return phpFile({ [sp.entityId]: entry }, 'metadata');
}

/** A PHP file that sets `$name` to `value`, every string a single-quoted literal (no interpolation). */
function phpFile(value: Record<string, unknown>, name = 'config'): string {
  return `<?php\n// Written by test/helpers/simplesamlphp.ts.\n$${name} = ${phpLiteral(value, '')};\n`;
}

function phpLiteral(value: unknown, indent: string): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (typeof value === 'string') return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
  const inner = `${indent}    `;
  if (Array.isArray(value)) return `[${value.map((item) => phpLiteral(item, inner)).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(([key, item]) => {
      const phpKey = /^(0|[1-9][0-9]*)$/.test(key) ? key : phpLiteral(key, inner);
      return `${inner}${phpKey} => ${phpLiteral(item, inner)},\n`;
    });
    return `[\n${entries.join('')}${indent}]`;
  }
  throw new Error(`no PHP literal for ${typeof value}`);
}

/** Where a sign-in at the IdP ended: the auto-post form to the ACS, or a page without one. */
export interface IdpSignIn {
  /** The base64 SAMLResponse of the auto-post form, when the IdP sent one. */
  readonly samlResponse?: string;
  readonly relayState?: string;
  /** The form's action: where a browser would POST the SAMLResponse. */
  readonly acsUrl?: string;
  /** The last page (the login form again after a wrong password, or SimpleSAMLphp's error page). */
  readonly status: number;
  readonly html: string;
}

/**
 * Plays a browser at SimpleSAMLphp with fetch: follows the redirects of `url` (an AuthnRequest URL, or
 * an IdP-initiated one) keeping the IdP's cookies, answers its login form once, and reads the form
 * that would POST to the ACS. Nothing is posted to the SP.
 */
export async function signInAtIdp(url: string, credentials: { username: string; password: string }): Promise<IdpSignIn> {
  const cookies = new Map<string, string>();
  let page = await browse(url, {}, cookies);
  const loginForm = /<form[^>]*action="([^"]*)"/.exec(page.html);
  const authState = formField(page.html, 'AuthState') ?? new URL(page.url).searchParams.get('AuthState') ?? undefined;
  if (loginForm && authState !== undefined && /name="password"/.test(page.html)) {
    const body = new URLSearchParams({ username: credentials.username, password: credentials.password, AuthState: authState });
    page = await browse(new URL(htmlText(loginForm[1]!), page.url).href, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, cookies);
  }
  const samlResponse = formField(page.html, 'SAMLResponse');
  const action = /<form[^>]*action="([^"]*)"/.exec(page.html)?.[1];
  return {
    status: page.status,
    html: page.html,
    ...(samlResponse === undefined ? {} : { samlResponse, relayState: formField(page.html, 'RelayState'), acsUrl: action === undefined ? undefined : htmlText(action) }),
  };
}

async function browse(url: string, init: { method?: string; body?: URLSearchParams; headers?: Record<string, string> }, cookies: Map<string, string>): Promise<{ url: string; status: number; html: string }> {
  for (let hop = 0; hop < 10; hop++) {
    const cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, ...(cookie ? { cookie } : {}) } });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      cookies.set(pair!.slice(0, at).trim(), pair!.slice(at + 1).trim());
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      url = new URL(location, url).href;
      init = {};
      continue;
    }
    return { url, status: response.status, html: await response.text() };
  }
  throw new Error(`more than 10 redirects from ${url}`);
}

function formField(html: string, name: string): string | undefined {
  const value = new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(html)?.[1];
  return value === undefined ? undefined : htmlText(value);
}

function htmlText(attribute: string): string {
  return attribute.replace(/&(amp|lt|gt|quot|#039|#39);/g, (_, entity: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#039': "'", '#39': "'" })[entity]!);
}

/** The configuration values of a Capsule provider that trusts this IdP (as `capsule saml add --idp-metadata` would store them), with `extra` over them. */
export function capsuleSettingsFor(idp: SimpleSamlPhp, spEntityId: string, extra: Record<string, string | boolean | string[]> = {}): Record<string, string | boolean | string[]> {
  return {
    idpUrl: idp.ssoUrl,
    idpEntityId: idp.entityId,
    idpCert: [idp.certPem],
    serviceProviderEntityId: spEntityId,
    groupMembershipAttribute: 'groups',
    groupMap: ['idp-editors=editors'],
    ...extra,
  };
}
