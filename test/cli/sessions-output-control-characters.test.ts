import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startInstance } from '../../src/instance/index.js';
import { jsonOf, runCliInProcess } from '../helpers/cli.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

/**
 * A user signs in with a User-Agent holding terminal escape sequences (clear the screen, set the
 * window title, colour). bowser's catch-all parser takes the text before the first '/' as the
 * browser's name, so the sequences reach `browser`: every line of `capsule sessions` that shows a
 * device or an address writes them as visible escapes (terminal-text.ts). Run `npm run build` first.
 */
// Node's HTTP parser refuses C0 controls in a header, but takes bytes 0x80-0xff (obs-text, read as
// latin1): the C1 controls CSI (0x9b), OSC (0x9d) and ST (0x9c) go through.
const EVIL_AGENT = '\x9b2J\x9d0;pwned\x9c\x9b31mEvil/1.0 (X11)';

function rawRequest(url: URL, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(Buffer.from(text, 'latin1')));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('terminal escape sequences through the User-Agent into the CLI', () => {
  it('capsule sessions list and revoke show no raw control character', async () => {
    const home = join(tempDir(), 'home');
    const instance = await startInstance({ home, port: 0, hasher: fastHasher, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' } });
    try {
      await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
      // fetch refuses control characters in a header: a raw request, as any attacker's client sends it.
      const body = new URLSearchParams({ j_username: 'alice', j_password: 'alice-pw-correct-horse' }).toString();
      const answer = await rawRequest(new URL(instance.url), `POST /j_security_check HTTP/1.1\r\nHost: localhost\r\nUser-Agent: ${EVIL_AGENT}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      assert.match(answer, /^HTTP\/1\.1 200/, answer.slice(0, 200));
    } finally {
      await instance.stop();
    }
    const listed = await runCliInProcess(['sessions', 'list', '--user', 'alice', '--home', home]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.doesNotMatch(listed.stdout, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, 'the table shows no raw control character');
    const json = await runCliInProcess(['sessions', 'list', '--user', 'alice', '--home', home, '--json']);
    const [session] = jsonOf<{ sessions: { id: string; browser: string }[] }>(json).sessions;
    assert.match(session!.browser, /Evil/, 'the escape sequences did reach the parsed browser name');
    const revoked = await runCliInProcess(['sessions', 'revoke', session!.id, '--user', 'alice', '--home', home]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.doesNotMatch(revoked.stdout, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, `revoke's message printed raw control characters: ${JSON.stringify(revoked.stdout)}`);
  });
});
