import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkSamlProviderWithMetadata, fetchIdpMetadata, samlSettings } from '../../../src/auth/saml/index.js';
import { fixedClock } from '../../../src/clock.js';
import { createCryptoSupport, generateKey } from '../../../src/crypto/index.js';
import type { HealthResult } from '../../../src/health/index.js';
import type { RunningInstance } from '../../../src/instance/index.js';
import { healthAsAdmin } from '../../helpers/http.js';
import { startMetadataServer, type MetadataServer } from '../../helpers/metadata-server.js';
import { startLoggedInstance } from '../../helpers/oidc-instances.js';
import { selfSigned } from '../../helpers/self-signed.js';
import { capsuleSettingsFor, simpleSamlPhpUnavailable, startSimpleSamlPhp, type SimpleSamlPhp } from '../../helpers/simplesamlphp.js';
import { tempDir } from '../../helpers/temp.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const MIB = 1024 * 1024;
const pid = (name: string) => `capsule.auth.saml~${name}`;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;
/** The base64 lines of a PEM key, as they would appear if it were printed. */
const keyLines = (pem: string) => pem.split('\n').filter((line) => /^[A-Za-z0-9+/=]{16,}$/.test(line));

interface HealthBody {
  status: string;
  checks: HealthResult[];
}

describe('the SAML provider health check in a running instance', () => {
  const unavailable = simpleSamlPhpUnavailable();
  let idp: SimpleSamlPhp | undefined;
  let metadata: MetadataServer;
  let instance: RunningInstance;
  let lines: string[];
  // Set after SimpleSAMLphp has made its certificate, so that certificate is valid at this clock's start.
  let start: number;
  let clock: ReturnType<typeof fixedClock>;
  const sp = selfSigned({ commonName: 'sp', notBefore: new Date(Date.now() - DAY_MS), notAfter: new Date(Date.now() + 3650 * DAY_MS) });
  const idpCertificate = selfSigned({ commonName: 'corp-idp', notBefore: new Date(Date.now() - 400 * DAY_MS), notAfter: new Date(Date.now() + 365 * DAY_MS) }).certificatePem;

  before(async () => {
    metadata = await startMetadataServer();
    if (unavailable === undefined) idp = await startSimpleSamlPhp({ users: [], sp: { entityId: 'http://127.0.0.1:4502/saml', acsUrl: 'http://127.0.0.1:4502/system/sling/saml/ssp/acs' } });
    start = Date.now();
    clock = fixedClock(start);
    ({ instance, lines } = await startLoggedInstance(join(tempDir(), 'home'), 'saml-health', { clock }));
  });
  after(async () => {
    await instance?.stop();
    await metadata?.close();
    await idp?.stop();
  });

  /** Adds (or changes) a provider as `capsule saml add` stores it: IdP settings and an SP key pair. */
  const configure = (name: string, values: Record<string, string | boolean | string[] | null>) =>
    instance.services.config.update(pid(name), {
      idpUrl: 'https://idp.example.com/sso',
      idpEntityId: 'https://idp.example.com',
      idpCert: [idpCertificate],
      serviceProviderEntityId: 'https://www.example.com/saml',
      spPrivateKey: sp.privateKeyPem,
      spCertificate: sp.certificatePem,
      ...values,
    });

  /** Runs the provider's check now and reads it, and the whole answer, through GET /system/health as an administrator. */
  async function health(name: string): Promise<{ httpStatus: number; body: HealthBody; check: HealthResult }> {
    await instance.health.run(pid(name));
    const response = await healthAsAdmin(instance.url);
    const body = (await response.json()) as HealthBody;
    const check = body.checks.find((each) => each.name === pid(name));
    assert.ok(check, `no check ${pid(name)} in ${JSON.stringify(body)}`);
    return { httpStatus: response.status, body, check };
  }

  /** The provider's result from a run of its check (no HTTP). */
  async function result(name: string): Promise<HealthResult> {
    const summary = await instance.health.run(pid(name));
    return summary.checks.find((each) => each.name === pid(name))!;
  }

  async function readyStatus(): Promise<number> {
    const response = await fetch(`${instance.url}/system/health/ready`);
    await response.body?.cancel();
    return response.status;
  }

  it('is ok, warns from 30 days before the IdP certificate expires and is critical once it has, by the instance clock; the instance stays ready', async () => {
    const notAfter = Math.floor((start + 40 * DAY_MS) / 1000) * 1000; // X.509 times are whole seconds
    const expiring = selfSigned({ commonName: 'expiring', notBefore: new Date(start - 400 * DAY_MS), notAfter: new Date(notAfter) }).certificatePem;
    await configure('corp', { idpCert: [expiring] });
    try {
      clock.set(notAfter - 30 * DAY_MS);
      const ok = await health('corp');
      assert.equal(ok.check.status, 'ok', ok.check.message);
      assert.equal(ok.check.title, 'SAML identity provider corp');
      assert.equal(ok.check.readiness, false);
      assert.match(ok.check.message, new RegExp(`^corp: IdP certificate valid until ${day(notAfter)}, SP key decrypts with master key [0-9a-f]+ and matches the SP certificate, SP certificate valid until `));
      assert.equal(ok.httpStatus, 200);

      clock.set(notAfter - 30 * DAY_MS + 1);
      const warned = await health('corp');
      assert.equal(warned.check.status, 'warn');
      assert.match(warned.check.message, new RegExp(`^corp: IdP certificate expires on ${day(notAfter)} \\(in 29 days\\)`));
      assert.equal(warned.httpStatus, 200);

      clock.set(notAfter);
      const expired = await health('corp');
      assert.equal(expired.check.status, 'critical');
      assert.match(expired.check.message, new RegExp(`^corp: IdP certificate expired on ${day(notAfter)}`));
      assert.equal(expired.httpStatus, 503);
      assert.equal(await readyStatus(), 200, 'an IdP problem takes no instance out of the load balancer');
    } finally {
      clock.set(start);
      await instance.services.config.delete(pid('corp'));
    }
    assert.equal(instance.health.summary().checks.some((check) => check.name === pid('corp')), false, 'removed with its configuration');
  });

  it('fetches the metadata URL (SimpleSAMLphp): the configured certificate is listed; once the IdP rolled its key, a warning names the command that brings the new one in', { skip: unavailable }, async () => {
    const url = idp!.metadataUrl;
    await configure('ssp', { ...capsuleSettingsFor(idp!, 'https://www.example.com/saml'), idpMetadataUrl: url });
    try {
      const listed = await result('ssp');
      // SimpleSAMLphp's test certificate is valid for two days: that alone is a warning here.
      assert.match(listed.message, /^ssp: IdP certificate expires on /);
      assert.match(listed.message, new RegExp(`, IdP metadata at ${url} answers and lists the configured signing certificate$`));

      // The IdP now signs with the certificate it publishes; this site still trusts its old one.
      const old = selfSigned({ commonName: 'old-idp', notBefore: new Date(start - 400 * DAY_MS), notAfter: new Date(start + 365 * DAY_MS) }).certificatePem;
      await instance.services.config.update(pid('ssp'), { idpCert: [old] });
      const rolled = await health('ssp');
      assert.equal(rolled.check.status, 'warn', rolled.check.message);
      assert.match(rolled.check.message, /^ssp: IdP certificate valid until /, 'the only warning is the roll');
      assert.ok(
        rolled.check.message.endsWith(
          `, IdP metadata at ${url} lists other signing certificates than the configured ones (new: SHA-256 ${fingerprintOf(idp!.certPem)}, valid until ${day(new Date(new X509Certificate(idp!.certPem).validTo).getTime())}; no longer listed: SHA-256 ${fingerprintOf(old)}, valid until ${day(start + 365 * DAY_MS)}): the IdP rolled its key; trust what it publishes with 'capsule saml add ssp --update --idp-metadata ${url}'`,
        ),
        rolled.check.message,
      );
      assert.equal(rolled.httpStatus, 200);
      assert.equal(await readyStatus(), 200);
    } finally {
      await instance.services.config.delete(pid('ssp'));
    }
  });

  it('warns when the metadata URL fails (HTTP status, not metadata, too large, redirect to plain http, nothing listening), and the instance stays ready', async () => {
    const page = metadata.serve('/login-page', { body: '<html><body>Sign in</body></html>', headers: { 'content-type': 'text/html' } });
    const text = metadata.serve('/text', { body: 'metadata moved', headers: { 'content-type': 'text/plain' } });
    const declared = metadata.serve('/aggregate', { body: Buffer.alloc(MIB + 1, 0x20) });
    const streamed = metadata.serve('/aggregate-streamed', { body: Buffer.alloc(MIB + 1, 0x20), chunked: true });
    // 0.0.0.0 is not loopback by the rule, yet a request to it would stay on this machine were the rule broken.
    const moved = metadata.serve('/moved', { status: 302, body: '', headers: { location: 'http://0.0.0.0:9/metadata.xml' } });
    const movedHere = metadata.serve('/moved-here', { status: 301, body: '', headers: { location: '/missing' } });
    const loop = metadata.serve('/loop', { status: 302, body: '', headers: { location: '/loop' } });
    const closed = await startMetadataServer();
    const nothingListening = `${closed.origin}/metadata`;
    await closed.close();
    const cases: Array<[string, string]> = [
      [`${metadata.origin}/missing`, 'answered HTTP 404'],
      [page, 'is not usable: the document is not SAML metadata (its root is html)'],
      [text, 'is not usable: not well-formed XML'],
      [declared, `answered more than ${MIB} bytes (1 MiB), more than one identity provider's metadata`],
      [streamed, `answered more than ${MIB} bytes (1 MiB), more than one identity provider's metadata`],
      [moved, 'redirects to http://0.0.0.0:9/metadata.xml, which is not https'],
      [movedHere, `answered HTTP 404 (at ${metadata.origin}/missing)`],
      [loop, 'redirects more than 3 times'],
      [nothingListening, `cannot be reached (connect ECONNREFUSED ${new URL(nothingListening).host})`],
    ];
    try {
      for (const [url, reason] of cases) {
        await configure('down', { idpMetadataUrl: url });
        const warned = await result('down');
        assert.equal(warned.status, 'warn', `${url}: ${warned.message}`);
        assert.match(warned.message, /^down: IdP certificate valid until \S+, SP key decrypts/);
        assert.ok(warned.message.endsWith(`, IdP metadata at ${url} ${reason}`), warned.message);
      }
      const { httpStatus, check } = await health('down');
      assert.equal(check.status, 'warn');
      assert.equal(httpStatus, 200, 'sign-ins use the configured certificates: a metadata host that is away is no outage');
      assert.equal(await readyStatus(), 200);
    } finally {
      await instance.services.config.delete(pid('down'));
    }
  });

  it('gives up on a metadata URL that does not answer within its timeout (injected), with a warning', { timeout: 30_000 }, async () => {
    const silent = metadata.serve('/silent', 'no-answer');
    const stalled = metadata.serve('/stalled', 'stalled-body');
    // Checked apart from the instance, whose own run of the check would wait out the 10 s default.
    const settingsFor = (url: string) =>
      samlSettings('slow', {
        idpUrl: 'https://idp.example.com/sso',
        idpEntityId: 'https://idp.example.com',
        idpCert: [idpCertificate],
        idpMetadataUrl: url,
        serviceProviderEntityId: 'https://www.example.com/saml',
        spPrivateKey: instance.services.crypto.protect(sp.privateKeyPem),
        spCertificate: sp.certificatePem,
      });
    for (const url of [silent, stalled]) {
      const outcome = await checkSamlProviderWithMetadata('slow', () => settingsFor(url), {
        crypto: instance.services.crypto,
        clock,
        fetchMetadata: (each) => fetchIdpMetadata(each, { timeoutMs: 100 }),
      });
      assert.equal(outcome.status, 'warn', outcome.message);
      assert.ok(outcome.message.endsWith(`, IdP metadata at ${url} gave no answer within 0.1 s`), outcome.message);
      assert.equal(metadata.requests(new URL(url).pathname), 1, 'the request reached the server: the timeout ended it');
    }
  });

  it('never throws, whatever the metadata fetch throws', async () => {
    const outcome = await checkSamlProviderWithMetadata(
      'odd',
      () => samlSettings('odd', { idpUrl: 'https://idp.example.com/sso', idpEntityId: 'e', idpCert: [idpCertificate], idpMetadataUrl: 'https://idp.example.com/md', serviceProviderEntityId: 's' }),
      {
        crypto: instance.services.crypto,
        clock,
        fetchMetadata: async () => {
          throw new TypeError('socket hang up');
        },
      },
    );
    assert.equal(outcome.status, 'warn');
    assert.ok(outcome.message.endsWith(', IdP metadata at https://idp.example.com/md socket hang up'), outcome.message);
  });

  it('is critical when the SP key no longer decrypts (encrypted with another master key), names the command that re-enters it and never shows the key', async () => {
    const other = createCryptoSupport({
      load: async () => ({ storage: 'file', master: generateKey(), stagedMaster: null, hmac: generateKey(), stagedHmac: null, retiredHmac: [] }),
    });
    await other.refresh();
    await configure('rekeyed', {});
    try {
      await instance.services.config.update(pid('rekeyed'), { spPrivateKey: other.protect(sp.privateKeyPem) });
      const failed = await health('rekeyed');
      assert.equal(failed.check.status, 'critical');
      assert.match(
        failed.check.message,
        new RegExp(`^rekeyed: spPrivateKey of SAML identity provider rekeyed was encrypted with master key ${other.keyIds().master}; this instance's master key is ${instance.services.crypto.keyIds().master}; .*\\(capsule saml add rekeyed --update --sp-key-file <key\\.pem>\\)$`),
      );
      assert.equal(failed.httpStatus, 503);
      assert.equal(await readyStatus(), 200);
      const shown = `${JSON.stringify(failed.body)}${lines.join('')}`.replace(/\s|\\n/g, '');
      for (const line of keyLines(sp.privateKeyPem)) assert.ok(!shown.includes(line), 'a line of the SP private key was shown');
    } finally {
      await instance.services.config.delete(pid('rekeyed'));
    }
  });
});
