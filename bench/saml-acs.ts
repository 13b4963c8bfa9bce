// SAML sign-ins per second on one core: the full ACS sign-in over HTTP (a started instance on the
// server core), Capsule's check of the response alone, and node-saml's own validation of the same
// responses with the same settings (the reference), in this process on the load core.
// Each assertion is accepted once (the replay store), so every sign-in over HTTP posts a response
// of its own; the in-process runs reuse theirs with a fresh replay store per pass.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { validateSamlResponse } from '../src/auth/saml/acs.js';
import { createMemoryReplayStore } from '../src/auth/saml/assertion-replay.js';
import { samlSettings, type SamlSettings } from '../src/auth/saml/saml-config.js';
import { systemClock } from '../src/clock.js';
import { openServices } from '../src/instance/index.js';
import { base64, testIdp, type TestIdp } from '../test/helpers/saml-idp.js';
import { compare } from './measure.js';
import { startCapsule, stopChild } from './http.js';
import { cpuSecondsOf } from './pinning.js';

const NAME = 'bench';
// A fixed ACS URL (assertionConsumerServiceURL), so the responses can be signed before the server's port is known.
const SP = { entityId: 'https://sp.bench.test/saml', acsUrl: `https://sp.bench.test/system/sling/saml/${NAME}/acs` };
const USERS = 16;
const CONNECTIONS = 8;

export interface SamlHttpRound {
  readonly signIns: number;
  readonly signInsPerSecond: number;
  /** Sign-ins per second of server CPU time (user + system): what one core does when kept busy. */
  readonly signInsPerServerCpuSecond: number;
  readonly serverBusy: number;
  readonly p99Ms: number;
  /** Answers that were not the 303 of a sign-in, and connection errors. */
  readonly failed: number;
}

export interface SamlAcsResults {
  readonly generatedPerSecond: number;
  readonly responseBytes: number;
  readonly http: readonly SamlHttpRound[];
  /** Best round, per second, one core. */
  readonly capsuleCheck: number;
  readonly nodeSaml: number;
}

function valuesFor(idp: TestIdp): Record<string, string | boolean | string[]> {
  return {
    idpUrl: 'https://idp.bench.test/sso',
    idpEntityId: idp.entityId,
    idpCert: [idp.keys.certificatePem],
    serviceProviderEntityId: SP.entityId,
    assertionConsumerServiceURL: SP.acsUrl,
    allowIdpInitiated: true,
  };
}

/** node-saml configured as acs.ts configures it for a response signed on both levels, built once as its users do. */
function referenceFor(settings: SamlSettings): SAML {
  return new SAML({
    callbackUrl: SP.acsUrl,
    issuer: settings.spEntityId,
    audience: settings.spEntityId,
    idpIssuer: settings.idpEntityId,
    idpCert: [...settings.idpCertificates],
    wantAuthnResponseSigned: true,
    wantAssertionsSigned: true,
    acceptedClockSkewMs: settings.clockToleranceSeconds * 1000,
    validateInResponseTo: ValidateInResponseTo.ifPresent,
    identifierFormat: settings.nameIdFormat,
    disableRequestedAuthnContext: true,
    signatureAlgorithm: 'sha256',
  });
}

/** `count` IdP-initiated responses (base64, as posted), signed on the response and the assertion, for the bench users in turn. */
async function issue(idp: TestIdp, count: number): Promise<string[]> {
  const responses: string[] = [];
  for (let i = 0; i < count; i++) responses.push(base64(await idp.issue({ requestId: null, nameId: `bench-user-${i % USERS}`, groups: ['idp-editors'] })));
  return responses;
}

async function postAll(url: string, responses: readonly string[], serverPid: number): Promise<SamlHttpRound> {
  let next = 0;
  const cpuBefore = cpuSecondsOf(serverPid);
  const started = process.hrtime.bigint();
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    amount: responses.length,
    requests: [
      {
        method: 'POST',
        path: `/system/sling/saml/${NAME}/acs`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        setupRequest: (request) => ({ ...request, body: new URLSearchParams({ SAMLResponse: responses[next++ % responses.length]! }).toString() }),
      },
    ],
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = cpuSecondsOf(serverPid) - cpuBefore;
  const signIns = result['3xx'];
  return {
    signIns,
    signInsPerSecond: signIns / seconds,
    signInsPerServerCpuSecond: signIns / cpu,
    serverBusy: cpu / seconds,
    p99Ms: result.latency.p99,
    failed: result.requests.total - signIns + result.errors,
  };
}

/**
 * `perRound` responses per HTTP round (each used once) and `inProcess` for the in-process runs
 * (reused each pass). About 30 s in all on the 2-core VM: signing is the slow part (~10 ms each).
 */
export async function benchmarkSamlAcs(log: (line: string) => void, rounds = 3, perRound = 200, inProcess = 120): Promise<SamlAcsResults> {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-saml-'));
  const home = join(dir, 'home');
  const idp = testIdp(SP, { entityId: 'https://idp.bench.test/saml' });
  const values = valuesFor(idp);
  const services = await openServices({ home, create: true, keys: 'prepare', clock: systemClock });
  try {
    await services.config.update(`capsule.auth.saml~${NAME}`, values);
  } finally {
    await services.close();
  }
  const { url, child } = await startCapsule(home);
  try {
    log(`signing ${USERS + rounds * perRound + inProcess} responses with samlify (RSA-SHA256, response and assertion signed)`);
    const started = process.hrtime.bigint();
    const firstSignIns = await issue(idp, USERS);
    const httpResponses = await issue(idp, rounds * perRound);
    const checkResponses = await issue(idp, inProcess);
    const generatedPerSecond = (USERS + rounds * perRound + inProcess) / (Number(process.hrtime.bigint() - started) / 1e9);

    log(`server on ${url}; first sign-in of each of the ${USERS} users (they are created), then ${rounds} rounds of ${perRound} sign-ins, ${CONNECTIONS} connections`);
    const warm = await postAll(url, firstSignIns, child.pid!);
    if (warm.failed > 0) throw new Error(`${warm.failed} of the first sign-ins failed: see the server's log`);
    const http: SamlHttpRound[] = [];
    for (let round = 0; round < rounds; round++) http.push(await postAll(url, httpResponses.slice(round * perRound, (round + 1) * perRound), child.pid!));

    log(`in process: ${inProcess} responses a pass, Capsule's check (fresh replay store each pass) and node-saml alone, interleaved`);
    const settings = samlSettings(NAME, values);
    const reference = referenceFor(settings);
    const passRate = async (check: (response: string) => Promise<unknown>) => {
      const begun = process.hrtime.bigint();
      for (const response of checkResponses) await check(response);
      return checkResponses.length / (Number(process.hrtime.bigint() - begun) / 1e9);
    };
    const rates = await compare(
      [
        {
          name: 'capsule',
          run: () => {
            const options = { decryptionKey: null, requestLifetimeMs: 600_000, replay: createMemoryReplayStore({ clock: systemClock }), clock: systemClock };
            return passRate((samlResponse) => validateSamlResponse(settings, { samlResponse, acsUrl: SP.acsUrl, request: null }, options));
          },
        },
        {
          name: 'node-saml',
          run: () =>
            passRate(async (SAMLResponse) => {
              const { profile } = await reference.validatePostResponseAsync({ SAMLResponse });
              if (!profile) throw new Error('node-saml accepted no profile');
            }),
        },
      ],
      4,
    );
    return { generatedPerSecond, responseBytes: Buffer.byteLength(checkResponses[0]!), http, capsuleCheck: rates.capsule!, nodeSaml: rates['node-saml']! };
  } finally {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}
