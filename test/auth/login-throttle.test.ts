import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLoginThrottle, MAX_LOGIN_NAME_LENGTH } from '../../src/auth/index.js';
import { createLogger, startInstance, type RunningInstance } from '../../src/instance/index.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

const WINDOW_MS = 60_000;
const limits = { windowMs: WINDOW_MS, limits: { 'user:': 5, 'addr:': 30 } };

function lockOut(throttle: ReturnType<typeof createLoginThrottle>, key: string, nowMs: number): void {
  for (let i = 0; i < 5; i++) throttle.failed([key], nowMs);
}

describe('the login throttle holds a bounded number of keys', () => {
  it('never holds more keys than its bound, however many names fail (users and addresses each)', () => {
    const throttle = createLoginThrottle(limits, 100);
    for (let i = 0; i < 1_000; i++) throttle.failed([`user:name-${i}`, `addr:10.0.${i >> 8}.${i & 255}`], 1_000 + i);
    assert.equal(throttle.size(), 200);
  });

  it('drops windows that have ended when it takes a new key', () => {
    const throttle = createLoginThrottle(limits, 100);
    for (let i = 0; i < 50; i++) throttle.failed([`user:name-${i}`], 1_000);
    assert.equal(throttle.size(), 50);
    throttle.failed(['user:late'], 1_000 + WINDOW_MS);
    assert.equal(throttle.size(), 1, 'the 50 ended windows are gone');
  });

  it('keeps a lockout through a flood of new names: the oldest counting keys go first', () => {
    const throttle = createLoginThrottle(limits, 100);
    lockOut(throttle, 'user:victim', 1_000);
    assert.ok(throttle.retryAfter(['user:victim'], 1_000) > 0);
    for (let i = 0; i < 10_000; i++) throttle.failed([`user:flood-${i}`], 2_000);
    assert.equal(throttle.size(), 100);
    assert.equal(throttle.retryAfter(['user:victim'], 2_000), 59, 'still locked out, with its own window');
    assert.equal(throttle.retryAfter(['user:victim'], 1_000 + WINDOW_MS), 0, 'until its window ends');
  });

  it('when full of lockouts, drops the oldest lockout only', () => {
    const throttle = createLoginThrottle(limits, 3);
    for (const [i, name] of ['first', 'second', 'third', 'fourth'].entries()) lockOut(throttle, `user:${name}`, 1_000 + i);
    assert.equal(throttle.size(), 3);
    assert.equal(throttle.retryAfter(['user:first'], 2_000), 0);
    for (const name of ['second', 'third', 'fourth']) assert.ok(throttle.retryAfter([`user:${name}`], 2_000) > 0, name);
  });
});

describe('user names at login', () => {
  let instance: RunningInstance;
  let log = '';
  const waiting: Array<{ match: (line: Record<string, unknown>) => boolean; resolve: (line: string) => void }> = [];
  const auditLine = (match: (line: Record<string, unknown>) => boolean) => new Promise<string>((resolve) => waiting.push({ match, resolve }));

  before(async () => {
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
      const lines = log.split('\n');
      log = lines.pop() ?? '';
      for (const raw of lines.filter((line) => line.startsWith('{'))) {
        const parsed = JSON.parse(raw) as Record<string, unknown>;
        for (const waiter of waiting.filter((w) => parsed.name === 'audit' && w.match(parsed))) {
          waiting.splice(waiting.indexOf(waiter), 1);
          waiter.resolve(raw);
        }
      }
    });
    instance = await startInstance({
      home: join(tempDir(), 'home'),
      port: 0,
      hasher: fastHasher,
      env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' },
      logger: createLogger({ destination, pretty: false }),
    });
  });
  after(() => instance.stop());

  const post = (body: string, contentType: string) => fetch(`${instance.url}/j_security_check`, { method: 'POST', headers: { 'content-type': contentType }, body });

  it('refuses a name longer than any user id with 400, from a form and from JSON, and logs a bounded line', async () => {
    const name = 'n'.repeat(900_000);
    const logged = auditLine((line) => line.outcome === 'refused');
    const fromForm = await post(new URLSearchParams({ j_username: name, j_password: 'whatever' }).toString(), 'application/x-www-form-urlencoded');
    assert.equal(fromForm.status, 400);
    const body = (await fromForm.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'INVALID_ARGUMENT');
    assert.match(body.error.message, new RegExp(`longer than ${MAX_LOGIN_NAME_LENGTH} characters`));
    const line = await logged;
    assert.ok(line.length < 1_000, `the audit line is ${line.length} characters`);
    assert.match(line, /900000 characters/);

    const fromJson = await post(JSON.stringify({ j_username: 'j'.repeat(MAX_LOGIN_NAME_LENGTH + 1), j_password: 'whatever' }), 'application/json');
    assert.equal(fromJson.status, 400);
  });

  it('answers a name of the longest length a user id may have as a wrong password (no user to find)', async () => {
    const response = await post(JSON.stringify({ j_username: 'a'.repeat(MAX_LOGIN_NAME_LENGTH), j_password: 'whatever' }), 'application/json');
    assert.equal(response.status, 401);
  });
});

describe('login attempts taken before the password is checked', () => {
  const isAttempt = <T extends object>(value: T | { retryAfterSeconds: number }): value is T => !('retryAfterSeconds' in value);

  it('count while in flight: the attempt after the limit is refused, an abandoned one gives its place back, a failure keeps it', () => {
    const throttle = createLoginThrottle(limits, 100);
    const keys = ['user:carol', 'addr:10.0.0.1'];
    const inFlight = Array.from({ length: 5 }, () => throttle.begin(keys, 1_000));
    assert.ok(inFlight.every(isAttempt));
    assert.deepEqual(throttle.begin(keys, 1_000), { retryAfterSeconds: 60 });
    const [first, second] = inFlight as { failed(nowMs: number): void; abandoned(): void }[];
    first!.abandoned();
    first!.failed(1_000); // settled already: counts nothing
    assert.ok(isAttempt(throttle.begin(keys, 1_000)), 'the abandoned place is free again');
    second!.failed(2_000);
    assert.deepEqual(throttle.begin(keys, 2_000), { retryAfterSeconds: 59 });
    assert.ok(isAttempt(throttle.begin(keys, 1_000 + WINDOW_MS)), 'a new window');
  });

  it('a success ends the user’s window and gives back its places on the others', () => {
    const throttle = createLoginThrottle(limits, 100);
    for (let i = 0; i < 4; i++) throttle.failed(['user:dave'], 1_000);
    const attempt = throttle.begin(['user:dave', 'addr:10.0.0.2'], 1_000);
    assert.ok(isAttempt(attempt));
    (attempt as { succeeded(keys: readonly string[]): void }).succeeded(['user:dave']);
    for (let i = 0; i < 5; i++) assert.ok(isAttempt(throttle.begin(['user:dave'], 1_000)), `attempt ${i}`);
  });
});
