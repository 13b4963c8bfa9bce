import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sealSamlLoginState, SAML_STATE_COOKIE } from '../../../src/auth/saml/login-state.js';
import { fixedClock } from '../../../src/clock.js';
import type { RunningInstance } from '../../../src/instance/index.js';
import { tokenOf, withToken } from '../../helpers/http.js';
import { startLoggedInstance } from '../../helpers/oidc-instances.js';
import { selfSigned } from '../../helpers/self-signed.js';
import { tempDir } from '../../helpers/temp.js';
import type { Manifest, VectorCase } from '../../vectors/saml/corpus.js';

/**
 * The SAML attack corpus (test/vectors/saml/, written by its generate.ts) posted to the ACS of a
 * started instance whose Clock stands at the vectors' instant, each with this browser's login
 * state for the vectors' request (sealed by the instance's own function and key, as its login
 * route would). Each refused case ends on the login page, in the log and in the audit trail with
 * the manifest's reason, creates no user and sets no login cookie; the accepted ones sign in.
 */



const VECTORS = new URL('../../vectors/saml/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('cases.json', VECTORS), 'utf8')) as Manifest;
const { settings } = manifest;
/** What an external entity naming this file would put into the page or a log line. */
const PASSWD_LINE = readFileSync('/etc/passwd', 'utf8').split('\n')[0]!;

/** A line of the log, parsed. */
type LogLine = Record<string, unknown>;

function samlResponseOf(entry: VectorCase): string {
  const text = readFileSync(new URL(entry.file, VECTORS)).toString('base64');
  return entry.padTo === undefined ? text : text + '\n'.repeat(entry.padTo - text.length);
}

describe('the SAML attack corpus against the ACS of a started instance', () => {
  let instance: RunningInstance;
  let lines: string[];
  const spKeys = selfSigned({ commonName: 'capsule-vector-sp (test only)' });
  const posted: string[] = [];
  const pages: string[] = [];

  before(async () => {
    ({ instance, lines } = await startLoggedInstance(join(tempDir(), 'home'), 'a', { clock: fixedClock(Date.parse(settings.instant)) }));
    const provider = {
      idpUrl: 'https://idp.example.test/sso',
      idpEntityId: settings.idpEntityId,
      idpCert: [readFileSync(new URL(settings.idpCertificateFile, VECTORS), 'utf8')],
      serviceProviderEntityId: settings.spEntityId,
      assertionConsumerServiceURL: settings.acsUrl,
      nameIdFormat: settings.nameIdFormat,
      clockTolerance: settings.clockToleranceSeconds,
    };
    await instance.services.config.update('capsule.auth.saml~corp', { ...provider, spPrivateKey: spKeys.privateKeyPem, spCertificate: spKeys.certificatePem });
    await instance.services.config.update('capsule.auth.saml~nokey', provider);
    // The corpus's responses all answer one request, which signs in once per provider: each accepted case has a provider of its own (the same settings).
    for (const [index] of manifest.cases.filter((each) => each.outcome === 'accepted').entries()) {
      await instance.services.config.update(`capsule.auth.saml~accept${index}`, { ...provider, spPrivateKey: spKeys.privateKeyPem, spCertificate: spKeys.certificatePem });
    }
  });
  after(() => instance.stop());

  /** The IdP's form posted to the ACS with this browser's login state for the vectors' request. */
  async function post(entry: VectorCase, provider: string = entry.provider ?? 'corp'): Promise<{ response: Response; body: string; newLines: LogLine[] }> {
    const state = sealSamlLoginState({ provider, request: { id: settings.requestId, issuedAt: new Date(settings.instant) }, resource: '/api/session' }, instance.services.crypto);
    const samlResponse = samlResponseOf(entry);
    posted.push(samlResponse.trim());
    const from = lines.length;
    const response = await fetch(`${instance.url}/system/sling/saml/${provider}/acs`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `${SAML_STATE_COOKIE}=${encodeURIComponent(state)}`, origin: 'https://idp.example.test', 'sec-fetch-site': 'cross-site' },
      body: new URLSearchParams({ SAMLResponse: samlResponse }).toString(),
    });
    const body = await response.text();
    pages.push(body);
    return { response, body, newLines: lines.slice(from).map((line) => JSON.parse(line) as LogLine) };
  }

  const userIds = async () => (await instance.services.users.listUsers()).map((user) => user.id).sort();

  it('holds the eight XSW variants, the seven causes of login loops, and a valid response that is accepted', () => {
    const names = manifest.cases.map((entry) => entry.name);
    for (const xsw of ['xsw1', 'xsw2', 'xsw3', 'xsw4', 'xsw5', 'xsw6', 'xsw7', 'xsw8']) assert.ok(names.includes(xsw), xsw);
    const loops = manifest.cases.filter((entry) => entry.loop);
    assert.equal(new Set(loops.map((entry) => entry.reason)).size, 9, 'audience, recipient, destination, NameID format, expired, not yet valid, unsigned, certificate, no key');
    assert.ok(loops.every((entry) => entry.logged), 'each loop cause with the two values that differ');
    assert.ok(manifest.cases.some((entry) => entry.outcome === 'accepted' && entry.name === 'valid'));
  });

  for (const [index, entry] of manifest.cases.filter((each) => each.outcome === 'accepted').entries()) {
    it(`accepts ${entry.name}: ${entry.attack}`, async () => {
      const { response } = await post(entry, `accept${index}`);
      assert.equal(response.status, 303);
      assert.equal(response.headers.get('location'), '/api/session');
      const token = tokenOf(response);
      assert.ok(token, 'the login cookie is set');
      const session = await fetch(`${instance.url}/api/session`, withToken(token));
      assert.equal(session.status, 200);
      assert.equal(((await session.json()) as { userId: string }).userId, entry.userId);
      // A comment that cut the NameID short would have signed in the part before it.
      const [shortened] = entry.userId!.split('.');
      if (shortened !== entry.userId) assert.equal(await instance.services.users.getUser(shortened!), null);
      assert.ok(lines.some((line) => line.includes('"event":"login"') && line.includes('"outcome":"success"') && line.includes(`"userId":"${entry.userId}"`)), 'audited');
    });
  }

  for (const entry of manifest.cases.filter((each) => each.outcome === 'refused')) {
    it(`refuses ${entry.name} (${entry.reason}): ${entry.attack}`, async () => {
      const usersBefore = await userIds();
      const admin = await instance.services.users.getUser('admin');
      const { response, body, newLines } = await post(entry);

      assert.equal(response.status, 401, 'refused, never a 500');
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(body, /<form[^>]+action="\/j_security_check"/, 'on the login page');
      assert.equal(tokenOf(response), null, 'no login cookie');

      const audit = newLines.find((line) => line['event'] === 'login' && line['outcome'] === 'refused');
      const log = newLines.find((line) => line['msg'] === 'SAML sign-in refused' && line['event'] === undefined);
      assert.ok(audit, 'in the audit trail');
      assert.ok(log, 'in the log');
      for (const line of [audit, log]) {
        assert.equal(line['reason'], entry.reason, JSON.stringify(line));
        assert.equal(line['provider'], entry.provider ?? 'corp');
      }

      if (entry.loop) assert.ok(body.includes(entry.loop.loginPage), `the login page says, in plain words: ${entry.loop.loginPage}`);
      if (entry.logged) {
        for (const line of [audit, log]) {
          assert.ok(String(line['expected']).includes(entry.logged.expected), `expected ${String(line['expected'])} names ${entry.logged.expected}`);
          assert.ok(String(line['received']).includes(entry.logged.received), `received ${String(line['received'])} names ${entry.logged.received}`);
        }
      }
      if (entry.neverRead) assert.ok(!body.includes(PASSWD_LINE) && !newLines.some((line) => JSON.stringify(line).includes(PASSWD_LINE)), `${entry.neverRead} was not read`);

      assert.deepEqual(await userIds(), usersBefore, 'no user created');
      if (entry.forgedUser && entry.forgedUser !== 'admin') assert.equal(await instance.services.users.getUser(entry.forgedUser), null);
      assert.deepEqual(await instance.services.users.getUser('admin'), admin, 'admin unchanged');
    });
  }

  it('refuses a POST beyond the ACS body limit without a 500, a login cookie or a user', async () => {
    const usersBefore = await userIds();
    const response = await fetch(`${instance.url}/system/sling/saml/corp/acs`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `SAMLResponse=${'A'.repeat(1024 * 1024)}`,
    });
    await response.text();
    assert.equal(response.status, 413);
    assert.equal(tokenOf(response), null);
    assert.deepEqual(await userIds(), usersBefore);
  });

  it('never logs the SP private key, a posted response or an assertion, and never shows them on a page', () => {
    assert.ok(lines.length > manifest.cases.length, 'the instance logged');
    const keyLines = spKeys.privateKeyPem.split('\n').filter((line) => line.length >= 40);
    const bodies = posted.map((text) => text.slice(0, 80));
    for (const line of [...lines, ...pages]) {
      assert.ok(!line.includes('PRIVATE KEY'), line.slice(0, 200));
      for (const keyLine of keyLines) assert.ok(!line.includes(keyLine), 'a line of the SP private key');
      for (const body of bodies) assert.ok(!line.includes(body), 'a posted SAMLResponse');
      assert.ok(!/<(saml2?:)?Assertion[\s>]|<(saml2?:)?NameID[\s>]|EncryptedAssertion/.test(line), `an assertion in: ${line.slice(0, 300)}`);
    }
  });
});
