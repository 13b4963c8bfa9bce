import assert from 'node:assert/strict';
import { it } from 'node:test';
import { oidcPid } from '../../src/auth/oidc/index.js';
import { samlPid } from '../../src/auth/saml/index.js';
import { systemClock } from '../../src/clock.js';
import { CONFIG_COUNTER } from '../../src/config/index.js';
import { openServices, startInstance } from '../../src/instance/index.js';
import { agentPid } from '../../src/replication/index.js';
import { initialisedHome } from '../helpers/homes.js';
import { capturedLogger } from '../helpers/logs.js';
import { fastHasher } from '../helpers/services.js';

// At start, an instance warns once per replication agent or identity provider URL that is plain
// http to another machine: Capsule sends no credentials there, so it cannot work. Nothing here
// reaches past this machine: the transport and discovery refuse such URLs before any request.

const EXPECTED = [
  "replication agent 'far' uses plain http to another machine (http://publish.example:4503): Capsule sends no credentials there in clear, so it will not work; use an https URL (plain http is for loopback addresses only)",
  "OpenID provider 'corp' uses plain http to another machine (http://idp.example): Capsule sends no credentials there in clear, so it will not work; use an https URL (plain http is for loopback addresses only)",
  "SAML identity provider 'old' (idpUrl) uses plain http to another machine (http://sso.example): Capsule sends no credentials there in clear, so it will not work; use an https URL (plain http is for loopback addresses only)",
];

it('warns once at start for each plain-http URL to another machine, never for loopback or https', { timeout: 60_000 }, async () => {
  const home = await initialisedHome();
  const services = await openServices({ home, clock: systemClock, hasher: fastHasher });
  try {
    await services.config.update(agentPid('near'), { url: 'http://127.0.0.1:9', 'transport.user': 'replicator', 'transport.password': 'transport-pw' });
    await services.config.update(oidcPid('secure'), { issuer: 'https://login.example', 'client.id': 'capsule', 'client.secret': 'oidc-secret' });
    // Stored before the schema refused plain http to other machines (SAML's URLs, then agents'
    // and issuers'): written as they were then, secrets protected as the configuration does.
    await services.repo.transaction(async (tx) => {
      await tx.addNode(`/conf/system/${agentPid('far')}`, {
        type: 'capsule:Configuration',
        properties: { url: 'http://publish.example:4503/path', 'transport.user': 'replicator', 'transport.password': services.crypto.protect('transport-pw') },
      });
      await tx.addNode(`/conf/system/${oidcPid('corp')}`, {
        type: 'capsule:Configuration',
        properties: { issuer: 'http://idp.example/realms/staff', 'client.id': 'capsule', 'client.secret': services.crypto.protect('oidc-secret') },
      });
      await tx.addNode(`/conf/system/${samlPid('old')}`, {
        type: 'capsule:Configuration',
        properties: { idpUrl: 'http://sso.example/sso', idpEntityId: 'https://sso.example', serviceProviderEntityId: 'https://sp.example', idpMetadataUrl: 'https://sso.example/metadata' },
      });
      await tx.bumpCounter(CONFIG_COUNTER);
    });
  } finally {
    await services.close();
  }

  const { logger, lines } = capturedLogger('info');
  const instance = await startInstance({ home, port: 0, hasher: fastHasher, logger, env: {} });
  await instance.stop();
  const warnings = lines.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((line) => line.level === 40 && line.msg.includes('plain http'));
  assert.deepEqual(warnings.map((line) => line.msg).sort(), [...EXPECTED].sort());
});
