import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCapsuleError } from '../../../src/errors.js';
import { openPostgresRepository } from '../../../src/repository/index.js';
import { startPostgres, type PostgresCluster } from '../../helpers/postgres.js';
import { systemClock } from '../../../src/clock.js';

// A real PostgreSQL with TLS on, whose certificate is signed by a CA of the test's own and names
// db.example (not the 127.0.0.1 the client connects to): what each sslmode must make of it.

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

/** A CA, a server certificate it signs for db.example, and an unrelated CA. */
function makeCertificates(dir: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Capsule test CA', '-keyout', 'ca.key', '-out', 'ca.pem'], dir);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Someone else', '-keyout', 'other.key', '-out', 'other-ca.pem'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=db.example', '-keyout', 'server.key', '-out', 'server.csr'], dir);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:db.example\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.pem'], dir);
}

describe('TLS to a PostgreSQL repository, by sslmode', () => {
  let cluster: PostgresCluster;
  let certs: string;
  let database: string;

  before(async () => {
    certs = mkdtempSync(join(tmpdir(), 'capsule-pg-tls-'));
    makeCertificates(certs);
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    for (const file of [certs, join(certs, 'server.key'), join(certs, 'server.pem')]) chownSync(file, uid, gid);
    cluster = await startPostgres({ settings: ['ssl=on', `ssl_cert_file=${join(certs, 'server.pem')}`, `ssl_key_file=${join(certs, 'server.key')}`] });
    database = await cluster.createDatabase();
  });
  after(async () => {
    await cluster?.stop();
    rmSync(certs, { recursive: true, force: true });
  });

  async function opens(query: string): Promise<true | string> {
    try {
      const repo = await openPostgresRepository({ url: `${database}?${query}`, create: true, connectTimeoutMs: 10_000, clock: systemClock });
      await repo.getNode('/');
      await repo.close();
      return true;
    } catch (error) {
      return (error as Error).message;
    }
  }

  it('verify-ca trusts a certificate of the CA named by sslrootcert whatever host name it gives, and no other CA', async () => {
    assert.equal(await opens(`sslmode=verify-ca&sslrootcert=${join(certs, 'ca.pem')}`), true);
    const foreign = await opens(`sslmode=verify-ca&sslrootcert=${join(certs, 'other-ca.pem')}`);
    assert.notEqual(foreign, true, 'a certificate of another CA is refused');
    assert.match(String(foreign), /^cannot connect to the repository on PostgreSQL \(host 127\.0\.0\.1, .*\): the server's TLS certificate was refused \(.*\); check sslmode and sslrootcert in the repository URL$/);
  });

  it('verify-full also compares the host name', async () => {
    assert.match(String(await opens(`sslmode=verify-full&sslrootcert=${join(certs, 'ca.pem')}`)), /TLS certificate was refused \(Hostname\/IP does not match/, '127.0.0.1 is not db.example');
  });

  it('require encrypts without checking the certificate, and an unknown sslmode or unreadable sslrootcert is bad input', async () => {
    assert.equal(await opens('sslmode=require'), true);
    for (const [query, message] of [
      ['sslmode=verify-everything', /sslmode=verify-everything; give disable, require, verify-ca or verify-full/],
      ['sslmode=verify-ca&sslrootcert=/no/such/ca.pem', /sslrootcert \/no\/such\/ca\.pem cannot be read \(ENOENT\)/],
    ] as const) {
      await assert.rejects(openPostgresRepository({ url: `${database}?${query}`, clock: systemClock }), (error) => isCapsuleError(error, 'INVALID_ARGUMENT') && message.test((error as Error).message));
    }
  });
});
