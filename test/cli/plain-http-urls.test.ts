import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { snapshotHome } from '../helpers/home-snapshot.js';
import { initialisedHome } from '../helpers/homes.js';
import { selfSigned } from '../helpers/self-signed.js';
import { tempDir } from '../helpers/temp.js';

const PLAIN_HTTP = 'must be an https URL (plain http only to a loopback address: 127.x.x.x, localhost, [::1])';

test('an OpenID issuer, a SAML sign-on URL or a replication agent on plain http to another machine is refused when added (the instance would refuse to use it), nothing changed', async () => {
  const home = await initialisedHome();
  const idpCertFile = join(tempDir(), 'idp.pem');
  writeFileSync(idpCertFile, selfSigned({ commonName: 'idp.example.com' }).certificatePem);
  const before = await snapshotHome(home, ['/conf', '/var/replication']);
  const refusals = [
    {
      args: ['oidc', 'add', 'corp', '--home', home, '--issuer', 'http://idp.example.com', '--client-id', 'capsule', '--client-secret-stdin'],
      stdin: 'a-client-secret\n',
      says: `capsule: capsule.auth.oidc~corp: issuer: ${PLAIN_HTTP}\n`,
    },
    {
      args: ['replication', 'add-agent', 'publish-1', '--home', home, '--url', 'http://10.0.1.1:4503', '--transport-user', 'transport', '--transport-password-stdin'],
      stdin: 'a-transport-password\n',
      says: `capsule: capsule.replication.agent~publish-1: url: ${PLAIN_HTTP}\n`,
    },
    {
      args: ['saml', 'add', 'corp', '--home', home, '--idp-entity-id', 'https://idp.example.com/saml', '--idp-sso-url', 'http://idp.example.com/sso', '--idp-cert-file', idpCertFile, '--sp-entity-id', 'https://www.example.com/saml'],
      stdin: '',
      says: "capsule: the IdP SSO URL 'http://idp.example.com/sso' is plain http: use https (plain http only to a loopback address)\n",
    },
  ];
  for (const { args, stdin, says } of refusals) {
    const result = await runCli(args, { stdin });
    assert.equal(result.code, 2, `${args.slice(0, 2).join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr, says);
  }
  assert.equal(await snapshotHome(home, ['/conf', '/var/replication']), before);

  const loopback = await runCli(['oidc', 'add', 'local', '--home', home, '--issuer', 'http://127.0.0.1:9/', '--client-id', 'capsule', '--client-secret-stdin'], { stdin: 'a-client-secret\n' });
  assert.equal(loopback.code, 0, loopback.stderr);
});
