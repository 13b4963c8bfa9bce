import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openServices } from '../../src/instance/index.js';
import { KEY_NODE, readMarker } from '../../src/crypto/index.js';
import { isCapsuleError } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';
import { initialisedHome, startTestInstance } from '../helpers/homes.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';

function snapshot(home: string): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!name.endsWith('-shm')) files.push(`${path} ${readFileSync(path).toString('base64')}`);
    }
  };
  walk(home);
  return files.join('\n');
}

describe('key storage on the file system', () => {
  it('gives a new home two 32-byte keys, mode 0600 in a 0700 folder, and the marker "file"', async () => {
    const home = await initialisedHome();
    const keys = join(home, 'keys');
    assert.equal(statSync(keys).mode & 0o777, 0o700);
    for (const name of ['master', 'hmac']) {
      assert.equal(readFileSync(join(keys, name)).length, 32);
      assert.equal(statSync(join(keys, name)).mode & 0o777, 0o600);
    }
    assert.equal(readFileSync(join(keys, 'storage'), 'utf8'), 'file', 'no trailing newline');
    assert.ok(!readFileSync(join(keys, 'master')).equals(readFileSync(join(keys, 'hmac'))));
  });

  it('keeps the same keys across restarts', async () => {
    const home = await initialisedHome();
    const before = readFileSync(join(home, 'keys', 'master'));
    const again = await startTestInstance(home);
    await again.stop();
    assert.ok(readFileSync(join(home, 'keys', 'master')).equals(before));
  });

  it('refuses a key file of the wrong length, naming the file, its length and the likely cause', async () => {
    const home = await initialisedHome();
    const master = join(home, 'keys', 'master');
    writeFileSync(master, Buffer.concat([readFileSync(master), Buffer.from('\n')]));
    await assert.rejects(
      startTestInstance(home),
      (e) => isCapsuleError(e, 'KEY_INVALID') && e.message.includes(master) && /33 bytes/.test(e.message) && /trailing newline/.test(e.message),
    );
    writeFileSync(master, Buffer.from('ab'.repeat(32)));
    const result = await runCli(['keys', 'fingerprint', '--home', home]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /64 bytes, not 32: it is hex text/);
  });

  it('tolerates white space around the marker and refuses unknown values', async () => {
    const home = await initialisedHome();
    const marker = join(home, 'keys', 'storage');
    writeFileSync(marker, '  file\n');
    assert.equal(readMarker(join(home, 'keys')), 'file');
    await (await startTestInstance(home)).stop();
    writeFileSync(marker, 'files');
    await assert.rejects(startTestInstance(home), (e) => isCapsuleError(e, 'KEY_INVALID') && /'files'; it must be 'file' or 'repository'/.test(e.message));
  });
});

describe('key storage in the repository', () => {
  it('keeps the keys on /etc/key when the first start asks for it', async () => {
    const home = await initialisedHome({ keyStorage: 'repository' });
    assert.equal(readFileSync(join(home, 'keys', 'storage'), 'utf8'), 'repository');
    assert.equal(existsSync(join(home, 'keys', 'master')), false);
    const services = await openServices({ home, clock: systemClock });
    const node = await services.repo.getNode(KEY_NODE);
    assert.equal((node?.properties.master as Buffer).length, 32);
    assert.equal((node?.properties.hmac as Buffer).length, 32);
    assert.match(services.crypto.protect('x'), /^\{cap1:/);
    await services.close();
  });

  it("reads 'mac' as an alias of 'hmac'", async () => {
    const home = await initialisedHome({ keyStorage: 'repository' });
    let services = await openServices({ home, clock: systemClock });
    const hmac = (await services.repo.getNode(KEY_NODE))!.properties.hmac as Buffer;
    await services.repo.setProperties(KEY_NODE, { hmac: null, mac: hmac });
    await services.close();
    services = await openServices({ home, clock: systemClock });
    assert.equal(services.crypto.keyIds().hmac, (await import('../../src/crypto/index.js')).keyId(hmac));
    await services.close();
  });
});

describe('the guard at start', () => {
  it('refuses to start when a key is missing while protected values exist, writes nothing, and names the fix', async () => {
    const home = await initialisedHome();
    const services = await openServices({ home, clock: systemClock });
    await services.config.update('org.example.ims', { 'client.secret': services.crypto.protect('s3cret') });
    await services.close();
    rmSync(join(home, 'keys', 'master'));
    const before = snapshot(home);
    await assert.rejects(
      startTestInstance(home),
      (e) => isCapsuleError(e, 'KEY_MISSING') && /1 protected value depend on it/.test(e.message) && /capsule keys import/.test(e.message),
    );
    assert.equal(snapshot(home), before, 'no new key, nothing else written');
    const cli = await runCli(['start', '--home', home, '--port', '45999']);
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /keys\/master is missing.*capsule keys import/);
  });

  it('refuses to make keys when /etc/key holds keys that the marker does not point to', async () => {
    const home = await initialisedHome({ keyStorage: 'repository' });
    rmSync(join(home, 'keys', 'storage')); // an upgrade from an installation that had no marker
    const before = snapshot(home);
    await assert.rejects(
      startTestInstance(home),
      (e) => isCapsuleError(e, 'KEY_MISSING') && /\/etc\/key holds keys/.test(e.message) && /capsule keys migrate/.test(e.message),
    );
    assert.equal(snapshot(home), before);
  });

  it('refuses --key-storage that contradicts an existing home', async () => {
    const home = await initialisedHome();
    await assert.rejects(startTestInstance(home, { keyStorage: 'repository' }), (e) => isCapsuleError(e, 'INVALID_ARGUMENT') && /keys migrate --to repository/.test(e.message));
  });

  it('never makes keys for a new repository whose config files hold protected values', async () => {
    const source = await initialisedHome();
    const services = await openServices({ home: source, clock: systemClock });
    const value = services.crypto.protect('s3cret');
    await services.close();
    const home = join(tempDir(), 'copied');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(home, 'config'), { recursive: true });
    writeFileSync(join(home, 'config', 'org.example.ims.json'), JSON.stringify({ 'client.secret': value }));
    await assert.rejects(startTestInstance(home), (e) => isCapsuleError(e, 'KEY_MISSING') && /capsule keys import/.test(e.message));
    assert.equal(existsSync(join(home, 'keys', 'master')), false);
  });
});
