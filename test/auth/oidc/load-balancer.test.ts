import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningInstance } from '../../../src/instance/index.js';
import { runCli } from '../../helpers/cli.js';
import { tokenOf, withToken } from '../../helpers/http.js';
import { callbackOf, configureProvider, startLoggedInstance } from '../../helpers/oidc-instances.js';
import { CookieJar, signInAtProvider, startLoginProvider, type LoginProvider } from '../../helpers/oidc-login-provider.js';
import { freePort } from '../../helpers/ports.js';
import { tempDir } from '../../helpers/temp.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };

/** Debian's HAProxy in front of the instances: round robin, no stickiness. */
async function startHaproxy(dir: string, backends: readonly RunningInstance[]): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(
    config,
    [
      'defaults',
      '  mode http',
      '  timeout connect 5s',
      '  timeout client 30s',
      '  timeout server 30s',
      'frontend site',
      `  bind 127.0.0.1:${port}`,
      '  default_backend publishes',
      'backend publishes',
      '  balance roundrobin',
      ...backends.map((instance, index) => `  server p${index} 127.0.0.1:${instance.port}`),
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/sbin/haproxy', ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr!.on('data', (chunk) => (errors += chunk));
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`haproxy exited: ${errors}`);
    if (await fetch(`${url}/system/health`).then(() => true, () => false)) return { url, process: child };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`haproxy did not come up: ${errors}`);
}

describe('single sign-on behind HAProxy (round robin, no sticky sessions)', () => {
  const publishes: RunningInstance[] = [];
  let provider: LoginProvider;
  let haproxy: { url: string; process: ChildProcess };

  before(async () => {
    const root = tempDir();
    const first = await startLoggedInstance(join(root, 'p1'), 'publish-1');
    const bundle = join(root, 'keys.bundle');
    assert.equal((await runCli(['keys', 'export', '--out', bundle, '--home', first.instance.services.home.root], { env: PASS })).code, 0);
    assert.equal((await runCli(['keys', 'import', '--in', bundle, '--home', join(root, 'p2')], { env: PASS })).code, 0);
    const second = await startLoggedInstance(join(root, 'p2'), 'publish-2');
    publishes.push(first.instance, second.instance);
    haproxy = await startHaproxy(root, publishes);
    provider = await startLoginProvider({ redirectUris: [callbackOf(haproxy.url)] });
    for (const instance of publishes) {
      await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
      await configureProvider(instance, provider);
    }
  });
  after(async () => {
    if (haproxy && haproxy.process.exitCode === null) {
      const exited = new Promise((resolve) => haproxy.process.once('exit', resolve));
      haproxy.process.kill('SIGTERM');
      await exited;
    }
    await Promise.all(publishes.map((instance) => instance.stop()));
    await provider?.close();
  });

  it('the flow starts on one publish, completes on another, and every publish serves the person at once', async () => {
    provider.groups.set('nina', ['idp-editors']);
    const jar = new CookieJar();
    let startedOn: string | null = null;
    const callbackUrl = await signInAtProvider(jar, haproxy.url, {
      provider: 'corp',
      login: 'nina',
      resource: '/api/session',
      onStart: (response) => (startedOn = response.headers.get('x-capsule-instance')),
    });
    const callback = await jar.fetch(callbackUrl);
    assert.equal(callback.status, 303, await callback.text());
    const completedOn = callback.headers.get('x-capsule-instance');
    const token = tokenOf(callback)!;
    assert.ok(startedOn && completedOn && startedOn !== completedOn, `started on ${startedOn}, completed on ${completedOn}: the login state travelled in the cookie`);

    const servedBy = new Set<string>();
    for (let request = 0; request < 6; request++) {
      const response = await fetch(`${haproxy.url}/api/session`, withToken(token));
      assert.equal(response.status, 200, `request ${request} on ${response.headers.get('x-capsule-instance')}`);
      assert.equal(((await response.json()) as { userId: string }).userId, 'nina');
      servedBy.add(response.headers.get('x-capsule-instance')!);
    }
    assert.deepEqual([...servedBy].sort(), ['publish-1', 'publish-2']);
    const other = publishes.find((instance) => instance.name !== completedOn)!;
    assert.deepEqual((await other.services.users.getUser('nina'))?.groups, ['editors', 'staff'], 'created from the claim on the publish that never saw the callback');
  });
});
