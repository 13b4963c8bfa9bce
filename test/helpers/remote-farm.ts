import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CAPSULE_BIN, runCli, type CliResult } from './cli.js';
import { login } from './http.js';
import { tempDir } from './temp.js';
import type { Socket } from 'node:net';

// A farm of real instances, each on its own loopback address (127.0.0.2, 127.0.0.3, … play
// other machines), and a folder that holds nothing but a manifest of their URLs: the farm
// commands run there, so they can only reach the members over HTTP.

export interface Member {
  readonly name: string;
  readonly role: 'author' | 'publish';
  readonly host: string;
  readonly url: string;
  readonly home: string;
  child: ChildProcess;
  output: string;
}

export interface RemoteFarm {
  readonly members: Member[];
  readonly adminPassword: string;
  /** The operator's folder: no home, only farm.json. */
  readonly workDir: string;
  readonly manifestFile: string;
  /** Runs `capsule …` in the operator's folder with the admin password in the environment. */
  cli(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<CliResult>;
  stop(member: Member): Promise<void>;
  start(member: Member): Promise<void>;
}

export function freePortOn(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function waitUntil(what: string, check: () => Promise<boolean>, waitMs = 30_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startMember(member: Member): Promise<void> {
  const port = new URL(member.url).port;
  const child = spawn(process.execPath, [CAPSULE_BIN, 'start', '--home', member.home, '--host', member.host, '--port', port, '--name', member.name], {
    env: { ...process.env, CAPSULE_HOME: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  member.child = child;
  member.output = '';
  // Unreferenced, so that the test process can end when its tests have (the exit hook below then
  // stops the members); referenced pipes would keep it waiting for them forever.
  child.unref();
  (child.stdout as unknown as Socket).unref();
  (child.stderr as unknown as Socket).unref();
  child.stdout!.on('data', (chunk) => (member.output += chunk));
  child.stderr!.on('data', (chunk) => (member.output += chunk));
  await waitUntil(`${member.name} to be ready`, async () => {
    if (child.exitCode !== null) throw new Error(`${member.name} exited with ${child.exitCode}:\n${member.output}`);
    return (await fetch(`${member.url}/system/health/ready`)).status === 200;
  });
}

/** A port free a moment ago on every one of these addresses (the farm's members share one port, each on its own address). */
export async function freePortOnAll(hosts: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePortOn(hosts[0]!);
    const free = await Promise.all(hosts.slice(1).map((host) => isFreeOn(host, port)));
    if (free.every(Boolean)) return port;
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}

function isFreeOn(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** The members `farm init` wrote into DIR/farm.json: name, role, URL, and the home beside it. */
export function membersOf(dir: string): Member[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'farm.json'), 'utf8')) as { members: Array<{ name: string; role: 'author' | 'publish'; url: string }> };
  return manifest.members.map(({ name, role, url }) => ({
    name,
    role,
    host: new URL(url).hostname,
    url,
    home: join(dir, name),
    child: undefined as unknown as ChildProcess,
    output: '',
  }));
}

/** `farm init` makes the homes (an author and publishes, one set of keys, one admin, replication); each then starts on its own address. */
export async function startRemoteFarm(size = 3): Promise<RemoteFarm> {
  const dir = join(tempDir(), 'homes');
  const memberPort = await freePortOnAll(Array.from({ length: size }, (_, i) => `127.0.0.${i + 2}`));
  const init = await runCli(['farm', 'init', '--dir', dir, '--publishers', String(size - 1), '--port', '18580', '--member-port', String(memberPort)]);
  if (init.code !== 0) throw new Error(init.stderr);
  const adminPassword = readFileSync(join(dir, 'admin-password'), 'utf8').trim();
  const members = membersOf(dir);
  await Promise.all(members.map(startMember));
  // Not `after`: inside a `before` hook it would fire as soon as the hook ends.
  process.once('exit', () => {
    for (const member of members) if (member.child.exitCode === null) member.child.kill('SIGKILL');
  });
  const workDir = tempDir('capsule-operator-');
  const manifestFile = join(workDir, 'farm.json');
  writeFileSync(manifestFile, JSON.stringify({ format: 'capsule-farm/2', members: members.map(({ name, role, url }) => ({ name, role, url })) }));
  return {
    members,
    adminPassword,
    workDir,
    manifestFile,
    cli: (args, env = {}) => runIn(workDir, args, { CAPSULE_ADMIN_PASSWORD: adminPassword, ...env }),
    async stop(member) {
      if (member.child.exitCode !== null) return;
      const exited = new Promise((resolve) => member.child.once('exit', resolve));
      member.child.kill('SIGTERM');
      await exited;
    },
    start: startMember,
  };
}

/** `bin/capsule` in `cwd`, with no CAPSULE_HOME and HOME pointing there too. */
export function runIn(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, stdin = ''): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CAPSULE_BIN, ...args], {
      cwd,
      env: { ...process.env, CAPSULE_HOME: '', HOME: cwd, CAPSULE_ADMIN_PASSWORD: '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? -1 : null), stdout, stderr }));
  });
}

export interface MemberView {
  instance: string;
  role: string;
  keys: { hmac: { id: string; fingerprint: string | null }; stagedHmac: { id: string } | null; retiredHmac: Array<{ id: string }>; master: { id: string; fingerprint: string | null } };
  users: number;
  replication: { outboxHead: number; agents: Array<{ name: string; queued: number }> };
  lock: { holder: string; rotation: string } | null;
}

export async function adminToken(member: Member, password: string): Promise<string> {
  return login(member.url, 'admin', password);
}

export async function memberView(member: Member, token: string): Promise<MemberView> {
  const response = await fetch(`${member.url}/system/farm/member`, { headers: { 'login-token': token } });
  if (response.status !== 200) throw new Error(`GET /system/farm/member on ${member.name}: ${response.status} ${await response.text()}`);
  return (await response.json()) as MemberView;
}
