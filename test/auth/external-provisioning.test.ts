import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { routeProvisioning } from '../../src/auth/index.js';
import { createProvisioner } from '../../src/auth/oidc/index.js';
import { createSamlProvisioner } from '../../src/auth/saml/index.js';
import { fixedClock } from '../../src/clock.js';
import { silentLogger } from '../../src/instance/index.js';
import { capturedLogger } from '../helpers/logs.js';
import { keyedServices } from '../helpers/keyed-services.js';
import { selfSigned } from '../helpers/self-signed.js';

const NOW_MS = 1_800_000_000_000;
const claimOf = (provider: string, subject: string) => ({ p: provider, s: subject, g: ['editors'], at: NOW_MS / 1000 });

/** A SAML provider as `capsule saml add` would store it. */
function samlProvider(extra: Record<string, number> = {}) {
  return {
    idpUrl: 'https://idp.example.com/sso',
    idpEntityId: 'https://idp.example.com',
    idpCert: [selfSigned().certificatePem],
    serviceProviderEntityId: 'https://www.example.com/saml',
    ...extra,
  };
}

describe('one provisioner over the OpenID Connect and SAML handlers', () => {
  it("creates a user from a claim of either handler's provider, and from no other", async () => {
    const services = await keyedServices();
    after(() => services.close());
    const clock = fixedClock(NOW_MS);
    const deps = { config: services.config, users: services.users, clock, logger: silentLogger() };
    const provisioner = routeProvisioning([createProvisioner(deps), createSamlProvisioner(deps)], silentLogger());
    await services.config.update('capsule.auth.oidc~corp', { issuer: 'https://login.example.com', 'client.id': 'c', 'client.secret': 's' });
    await services.config.update('capsule.auth.saml~shib', samlProvider({ provisioningMaxAgeSeconds: 600 }));

    assert.equal((await provisioner.apply('erin', claimOf('corp', 'sub-erin'), 1))?.id, 'erin', 'an OpenID provider');
    const frank = await provisioner.apply('frank', claimOf('shib', 'frank'), 3);
    assert.equal(frank?.generation, 3, 'a SAML provider');
    assert.deepEqual(frank?.groups, ['editors']);
    assert.equal(await provisioner.apply('gina', claimOf('other', 'gina'), 1), null, 'a provider this instance does not have');
    assert.equal(await services.users.getUser('gina'), null);

    clock.set(NOW_MS + 601_000);
    assert.equal(await provisioner.apply('hank', claimOf('shib', 'hank'), 1), null, "past the SAML provider's window");
    assert.equal(await services.users.getUser('hank'), null);
  });

  it('refuses a claim whose provider name both handlers have, and says why', async () => {
    const services = await keyedServices();
    after(() => services.close());
    const deps = { config: services.config, users: services.users, clock: fixedClock(NOW_MS), logger: silentLogger() };
    const { logger, lines } = capturedLogger();
    const provisioner = routeProvisioning([createProvisioner(deps), createSamlProvisioner(deps)], logger);
    await services.config.update('capsule.auth.oidc~corp', { issuer: 'https://login.example.com', 'client.id': 'c', 'client.secret': 's' });
    await services.config.update('capsule.auth.saml~corp', samlProvider());
    assert.equal(await provisioner.apply('ivy', claimOf('corp', 'ivy'), 1), null);
    assert.equal(await services.users.getUser('ivy'), null);
    assert.ok(lines.some((line) => line.includes('more than one login handler')));
  });
});
