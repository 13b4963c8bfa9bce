import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readTlsFiles } from '../../src/http/index.js';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { CAPSULE_BIN, runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

/** A self-signed certificate for 127.0.0.1, made by openssl for this test. */
function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {
    stdio: 'ignore',
  });
  return { cert, key };
}

/** An HTTPS request that trusts `ca` alone: the certificate is verified for real. */
function httpsPost(url: string, ca: Buffer, body: string): Promise<{ status: number; cookies: string[]; protocol: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { method: 'POST', ca, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (response) => {
      response.resume();
      const protocol = (response.socket as import('node:tls').TLSSocket).getProtocol?.() ?? 'none';
      response.on('end', () => resolve({ status: response.statusCode ?? 0, cookies: ([] as string[]).concat(response.headers['set-cookie'] ?? []), protocol }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('HTTPS served by the instance (--tls-cert, --tls-key)', () => {
  let dir: string;
  let files: { cert: string; key: string };
  let instance: RunningInstance;
  before(async () => {
    dir = tempDir();
    files = selfSigned(dir, 'server');
    instance = await startInstance({
      home: join(dir, 'home'),
      port: 0,
      hasher: fastHasher,
      env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' },
      tls: readTlsFiles(files.cert, files.key),
    });
  });
  after(() => instance?.stop());

  it('logs in over real TLS and sets the login cookie Secure', async () => {
    assert.match(instance.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = readTlsFiles(files.cert, files.key).cert;
    const response = await httpsPost(`${instance.url}/j_security_check`, ca, 'j_username=admin&j_password=admin-password');
    assert.equal(response.status, 200);
    assert.match(response.protocol, /^TLSv1\.[23]$/);
    const cookie = response.cookies.find((value) => value.startsWith('login-token='));
    assert.ok(cookie, 'a login cookie');
    assert.match(cookie, /; Secure/);
    assert.match(cookie, /; HttpOnly/);
  });

  it('does not answer plain HTTP on the TLS port', async () => {
    const plain = instance.url.replace('https:', 'http:');
    const outcome = await fetch(`${plain}/system/health/live`).then(
      (response) => `answered ${response.status}`,
      () => 'refused',
    );
    assert.notEqual(outcome, 'answered 200');
  });

  it('refuses files that are missing, not PEM, or a key that is not the certificate’s, each in one line', () => {
    const other = selfSigned(dir, 'other');
    assert.throws(() => readTlsFiles(join(dir, 'missing.crt'), files.key), /^CapsuleError: --tls-cert .*missing\.crt does not exist$/);
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate\n');
    assert.throws(() => readTlsFiles(junk, files.key), /--tls-cert .*junk\.pem is not a PEM certificate/);
    assert.throws(() => readTlsFiles(files.cert, junk), /--tls-key .*junk\.pem is not a PEM private key/);
    assert.throws(() => readTlsFiles(files.cert, other.key), /--tls-key .*other\.key is not the key of the certificate in .*server\.crt/);
  });
});

/** A GET over HTTPS that trusts `ca` alone; null while nothing answers. */
function httpsGet(url: string, ca: Buffer): Promise<number | null> {
  return new Promise((resolve) => {
    const request = httpsRequest(url, { ca }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', () => resolve(null));
    request.end();
  });
}

describe('capsule start --tls-cert FILE --tls-key FILE', () => {
  it('serves HTTPS from a process, the login cookie Secure; refuses one option without the other', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const files = selfSigned(dir, 'cli');
    const ca = readTlsFiles(files.cert, files.key).cert;
    const home = join(dir, 'home');
    const port = await freePort();
    const child = spawn(process.execPath, [CAPSULE_BIN, 'start', '--home', home, '--port', String(port), '--tls-cert', files.cert, '--tls-key', files.key], {
      env: { ...process.env, CAPSULE_HOME: '', CAPSULE_ADMIN_PASSWORD: 'admin-password' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const url = `https://127.0.0.1:${port}`;
      const deadline = Date.now() + 20_000;
      while ((await httpsGet(`${url}/system/health/live`, ca)) !== 200) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`capsule start did not serve HTTPS:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.match(output, /"url":"https:\/\/127\.0\.0\.1:\d+"/);
      const login = await httpsPost(`${url}/j_security_check`, ca, 'j_username=admin&j_password=admin-password');
      assert.equal(login.status, 200);
      assert.match(login.cookies.find((cookie) => cookie.startsWith('login-token=')) ?? '', /; Secure/);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, output);

    const halfPort = String(await freePort());
    const half = await runCli(['start', '--home', home, '--port', halfPort, '--tls-cert', files.cert]);
    assert.equal(half.code, 2);
    assert.equal(half.stderr, 'capsule: give both --tls-cert FILE and --tls-key FILE (or CAPSULE_TLS_CERT and CAPSULE_TLS_KEY), or neither\n');
    const fromEnv = await runCli(['start', '--home', home, '--port', halfPort], { env: { CAPSULE_TLS_KEY: files.key } });
    assert.equal(fromEnv.code, 2, 'CAPSULE_TLS_KEY alone');
    const wrongKey = await runCli(['start', '--home', home, '--port', halfPort, '--tls-cert', files.cert, '--tls-key', selfSigned(dir, 'other-cli').key]);
    assert.equal(wrongKey.code, 2);
    assert.match(wrongKey.stderr, /^capsule: --tls-key .*other-cli\.key is not the key of the certificate in .*cli\.crt\n$/);
  });
});
