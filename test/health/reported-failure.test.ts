import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fixedClock } from '../../src/clock.js';
import { createHealthRegistry, type HealthStatus } from '../../src/health/index.js';

// `fail`: what a request just met counts at once, and outranks a run that began before it.

it('a reported failure is critical at once, a run already under way cannot undo it, and the next run can', async () => {
  const health = createHealthRegistry({ clock: fixedClock(Date.parse('2026-01-01T00:00:00Z')) });
  let release: (status: HealthStatus) => void = () => undefined;
  let gate = new Promise<HealthStatus>((resolve) => (release = resolve));
  health.register({ name: 'repository', title: 'Repository', readiness: true, run: async () => ({ status: await gate, message: 'answers' }) });

  const earlier = health.run('repository');
  health.fail('repository', 'repository unavailable');
  assert.deepEqual(health.summary({ readiness: true }).checks.map((check) => [check.status, check.message]), [['critical', 'repository unavailable']]);
  release('ok');
  await earlier;
  assert.equal(health.summary().status, 'critical', 'the run begun before the failure was reported does not undo it');

  gate = Promise.resolve('ok');
  await health.run('repository');
  assert.deepEqual(health.summary().checks.map((check) => [check.status, check.message]), [['ok', 'answers']]);

  health.fail('no-such-check', 'ignored');
  assert.deepEqual(health.summary().checks.map((check) => check.name), ['repository']);
});

// `suspect`: a request that met a failure asks the check's own probe, once, and `settled` waits for it.
it('a suspected check is run now, once for many reports; only its probe decides, and settled waits for it', async () => {
  const health = createHealthRegistry({ clock: fixedClock(Date.parse('2026-01-01T00:00:00Z')) });
  let runs = 0;
  let answer: HealthStatus = 'ok';
  let release: () => void = () => undefined;
  let gate = new Promise<void>((resolve) => (release = resolve));
  health.register({ name: 'repository', title: 'Repository', readiness: true, run: async () => (runs++, await gate, { status: answer, message: answer === 'ok' ? 'answers' : 'unreachable' }) });

  // Busy, not gone: the probe answers, so the instance stays ready.
  health.suspect('repository');
  health.suspect('repository');
  const waited = health.settled();
  release();
  await waited;
  assert.equal(runs, 1, 'two reports while one run is under way share it');
  assert.deepEqual(health.summary({ readiness: true }).checks.map((check) => [check.status, check.message]), [['ok', 'answers']]);

  // Gone: the probe fails, and the summary says so once settled.
  answer = 'critical';
  gate = Promise.resolve();
  health.suspect('repository');
  await health.settled();
  assert.equal(runs, 2);
  assert.deepEqual(health.summary({ readiness: true }).checks.map((check) => [check.status, check.message]), [['critical', 'unreachable']]);
  health.suspect('no-such-check');
  await health.settled();
});
